/** The admin page's style sheet, served as `/{path}/admin/app.css`. */
export const ADMIN_PAGE_STYLES = String.raw`:root {
  --bg: #f4f6fa;
  --surface: #ffffff;
  --text: #1d2433;
  --muted: #687385;
  --line: #e3e7ee;
  --line-strong: #cfd5df;
  --primary: #2f5bea;
  --primary-dark: #2348c4;
  --primary-soft: #e8eeff;
  --danger: #cf3a3a;
  --danger-soft: #fdecec;
  --ok: #16875a;
  --ok-soft: #e3f5ec;
  --warn: #b76e00;
  --warn-soft: #fff4de;
  --top: #141b2d;
  --radius: 10px;
  --shadow: 0 1px 2px rgba(20, 27, 45, 0.06), 0 4px 14px rgba(20, 27, 45, 0.05);
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  font-size: 14px;
  color: var(--text);
  background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; }
code, .mono { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 12.5px; }
[hidden] { display: none !important; }

.topbar {
  display: flex; align-items: center; gap: 20px;
  padding: 0 28px; height: 56px;
  background: var(--top); color: #fff;
}
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 16px; letter-spacing: 0.2px; }
.brand svg { width: 22px; height: 22px; fill: none; stroke: #8fb0ff; stroke-width: 2.2; stroke-linecap: round; stroke-linejoin: round; }
.pills { display: flex; gap: 8px; flex: 1; }
.pill {
  display: inline-flex; align-items: center; gap: 6px;
  padding: 3px 10px; border-radius: 999px; font-size: 12px;
  background: rgba(255, 255, 255, 0.08); color: #d5dcef;
}
.pill::before { content: ''; width: 7px; height: 7px; border-radius: 50%; background: #7d8799; }
.pill.on::before { background: #3ddc97; }
.pill.off::before { background: #ff7a7a; }
.top-actions { display: flex; gap: 6px; }
.top-link {
  color: #d5dcef; background: none; border: 0; font: inherit; cursor: pointer;
  padding: 6px 10px; border-radius: 6px; text-decoration: none;
}
.top-link:hover { background: rgba(255, 255, 255, 0.1); color: #fff; }
.role-badge {
  align-self: center; padding: 3px 10px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: rgba(143, 176, 255, 0.18); color: #dbe5ff;
}
.role-badge.viewer { background: rgba(255, 196, 87, 0.2); color: #ffe2a8; }
/* A viewer (http.viewerToken) reads: the page leaves out what would change something (R-OPS-2). */
body[data-role='viewer'] .admin-only { display: none !important; }

.tabs {
  display: flex; gap: 4px; padding: 0 24px;
  background: var(--surface); border-bottom: 1px solid var(--line);
}
.tabs [role='tab'] {
  border: 0; background: none; font: inherit; color: var(--muted); cursor: pointer;
  padding: 14px 14px 12px; border-bottom: 2px solid transparent; font-weight: 550;
}
.tabs [role='tab']:hover { color: var(--text); }
.tabs [role='tab'][aria-selected='true'] { color: var(--primary); border-bottom-color: var(--primary); }

main { padding: 22px 28px 60px; max-width: 1400px; margin: 0 auto; }
.toolbar { display: flex; align-items: center; gap: 12px; margin-bottom: 14px; flex-wrap: wrap; }
.footer { display: flex; align-items: center; gap: 12px; margin-top: 14px; flex-wrap: wrap; }
.spacer { flex: 1; }
.hint, .muted { color: var(--muted); margin: 0; }
.processing-off {
  margin: 0; padding: 6px 12px; border-radius: 8px;
  background: var(--warn-soft); color: var(--warn); font-weight: 550;
}

.card { background: var(--surface); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: var(--shadow); }
.table-wrap { overflow-x: auto; }
.empty { padding: 36px; text-align: center; color: var(--muted); margin: 0; }

.grid { width: 100%; border-collapse: collapse; }
.grid th {
  text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.5px;
  color: var(--muted); font-weight: 650; padding: 11px 14px; border-bottom: 1px solid var(--line);
  background: #fafbfd; white-space: nowrap;
}
.grid th:first-child { border-top-left-radius: var(--radius); }
.grid th:last-child { border-top-right-radius: var(--radius); }
.grid td { padding: 10px 14px; border-bottom: 1px solid var(--line); vertical-align: middle; }
.grid tbody tr:last-child td { border-bottom: 0; }
.grid tbody tr:hover td { background: #f8faff; }
.grid tr.selected td { background: var(--primary-soft); }
.grid .check { width: 36px; }
.grid .actions { width: 1%; white-space: nowrap; text-align: right; }
.grid td.nowrap { white-space: nowrap; }
.grid td.message { max-width: 520px; overflow-wrap: anywhere; }

.badge {
  display: inline-block; padding: 2px 8px; border-radius: 6px; font-size: 11.5px; font-weight: 650;
  background: #eef1f6; color: #414b5c; font-family: ui-monospace, Menlo, Consolas, monospace;
}
.level { text-transform: uppercase; font-family: inherit; }
.level.error { background: var(--danger-soft); color: var(--danger); }
.level.warning { background: var(--warn-soft); color: var(--warn); }
.level.info { background: var(--primary-soft); color: var(--primary); }

.link { border: 0; background: none; padding: 0; font: inherit; color: var(--primary); cursor: pointer; text-align: left; }
.link:hover { text-decoration: underline; }
.failed { color: var(--danger); font-weight: 650; display: inline-flex; align-items: center; gap: 5px; }
.failed::before { content: '!'; display: inline-grid; place-items: center; width: 16px; height: 16px; border-radius: 50%; background: var(--danger); color: #fff; font-size: 11px; }
.waiting { color: var(--muted); }
.status-retrying { color: #9a5b00; font-weight: 650; }
.status-skipped { color: var(--muted); font-weight: 650; }
.status-parked { color: #6b3fa0; font-weight: 650; }
.status-details { max-width: 36ch; overflow-wrap: anywhere; }
.ok-text { color: var(--ok); font-weight: 600; }
.pace { display: inline-flex; flex-wrap: wrap; gap: 4px 10px; }
.warn-mark { color: var(--warn); font-weight: 650; cursor: help; display: inline-flex; align-items: center; gap: 5px; }
.sub { display: block; color: var(--muted); font-size: 12px; margin-top: 2px; }

.button {
  display: inline-flex; align-items: center; gap: 6px;
  font: inherit; font-weight: 550; padding: 7px 14px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--line-strong); background: var(--surface); color: var(--text);
}
.button:hover { border-color: #aeb7c6; background: #fafbfd; }
.button.primary { background: var(--primary); border-color: var(--primary); color: #fff; }
.button.primary:hover { background: var(--primary-dark); }
.button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.button:disabled { opacity: 0.5; cursor: not-allowed; }
.icon-button {
  display: inline-grid; place-items: center; width: 30px; height: 30px; margin-left: 2px;
  border: 1px solid transparent; border-radius: 7px; background: none; color: #4d5769; cursor: pointer; font-size: 14px;
}
.icon-button svg { width: 17px; height: 17px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.icon-button:hover:not(:disabled) { background: #eef1f6; color: var(--text); }
.icon-button.sync:hover:not(:disabled) { color: var(--primary); background: var(--primary-soft); }
.icon-button.delete:hover:not(:disabled) { color: var(--danger); background: var(--danger-soft); }
.icon-button:disabled { opacity: 0.3; cursor: not-allowed; }

select, input[type='text'], input[type='password'] {
  font: inherit; padding: 7px 10px; border: 1px solid var(--line-strong); border-radius: 8px; background: var(--surface); color: var(--text);
}
select:focus, input:focus, .button:focus-visible, .icon-button:focus-visible, .link:focus-visible, [role='tab']:focus-visible {
  outline: 2px solid var(--primary); outline-offset: 1px;
}
.field-inline { display: inline-flex; align-items: center; gap: 8px; color: var(--muted); font-weight: 550; }
.field { display: grid; gap: 6px; font-weight: 550; margin-bottom: 14px; }
.check-field { display: flex; align-items: center; gap: 8px; margin-bottom: 14px; }
.bulk { display: flex; align-items: center; gap: 8px; }
input[type='checkbox'] { width: 16px; height: 16px; accent-color: var(--primary); cursor: pointer; }

.switch { position: relative; display: inline-block; width: 40px; height: 22px; flex: none; }
.switch input { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0; cursor: pointer; z-index: 1; }
.switch input:disabled { cursor: not-allowed; }
.switch .track { position: absolute; inset: 0; border-radius: 999px; background: #c8cfdb; transition: background 0.15s; cursor: pointer; }
.switch .track::after {
  content: ''; position: absolute; top: 3px; left: 3px; width: 16px; height: 16px; border-radius: 50%;
  background: #fff; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.25); transition: transform 0.15s;
}
.switch input:checked + .track { background: var(--primary); }
.switch input:checked + .track::after { transform: translateX(18px); }
.switch input:focus-visible + .track { outline: 2px solid var(--primary); outline-offset: 2px; }
.switch input:disabled + .track { opacity: 0.5; cursor: not-allowed; }

.settings { padding: 6px 22px; max-width: 820px; }
.setting { display: flex; align-items: center; gap: 18px; padding: 16px 0; border-bottom: 1px solid var(--line); }
.setting:last-child { border-bottom: 0; }
.setting .text { flex: 1; }
.setting .name { font-weight: 650; display: block; margin-bottom: 3px; }
.setting .desc { color: var(--muted); }
.setting.dependent { padding-left: 22px; }
.setting .state { width: 70px; text-align: right; color: var(--muted); font-size: 12.5px; }
.retention { padding: 16px 22px; max-width: 820px; margin-top: 16px; display: grid; gap: 12px; }
.retention h2 { margin: 0; font-size: 15px; }
.retention .retention-fact { align-content: start; }
.retention .sub { font-weight: 400; }

.dialog { border: 0; border-radius: 14px; padding: 0; box-shadow: 0 20px 60px rgba(20, 27, 45, 0.3); color: var(--text); }
.dialog::backdrop { background: rgba(20, 27, 45, 0.45); }
.dialog.narrow { width: min(440px, 92vw); }
.dialog.wide { width: min(980px, 94vw); }
.dialog-head { display: flex; align-items: center; justify-content: space-between; padding: 16px 22px; border-bottom: 1px solid var(--line); }
.dialog-head h2, .dialog-body h2 { margin: 0; font-size: 17px; }
.dialog-body { padding: 18px 22px; max-height: 70vh; overflow: auto; }
form.dialog-body h2 { margin-bottom: 14px; }
.dialog-actions { display: flex; justify-content: flex-end; gap: 8px; padding: 12px 22px 18px; }
form.dialog-body .dialog-actions { padding: 6px 0 0; }
.form-error { color: var(--danger); background: var(--danger-soft); padding: 8px 12px; border-radius: 8px; margin: 0 0 12px; }
.dialog h3 { font-size: 13px; text-transform: uppercase; letter-spacing: 0.5px; color: var(--muted); margin: 22px 0 8px; }
.dialog h3:first-child { margin-top: 0; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px 22px; margin: 0; }
.facts div { display: grid; gap: 2px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 550; overflow-wrap: anywhere; }
.dialog .grid { border: 1px solid var(--line); border-radius: 8px; border-collapse: separate; border-spacing: 0; }
.dialog .grid td { font-size: 13px; }
.value { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; white-space: pre-wrap; }
.null { color: #a0a8b6; font-style: italic; }

.toasts { position: fixed; right: 22px; bottom: 22px; display: grid; gap: 8px; z-index: 10; }
.toast {
  min-width: 260px; max-width: 440px; padding: 11px 16px; border-radius: 10px; background: var(--top); color: #fff;
  box-shadow: 0 8px 24px rgba(20, 27, 45, 0.25); animation: toast-in 0.15s ease-out;
}
.toast.error { background: var(--danger); }
@keyframes toast-in { from { opacity: 0; transform: translateY(6px); } to { opacity: 1; transform: none; } }
.auto-refresh { display: inline-flex; align-items: center; gap: 6px; }
.search-field input { width: 200px; }
time[title] { cursor: help; text-decoration: underline dotted #b5bdca; text-underline-offset: 3px; }
.event-task { font-variant-numeric: tabular-nums; }

.grid.overview td.count { font-variant-numeric: tabular-nums; text-align: right; }
.grid.overview th:nth-child(n + 2):nth-child(-n + 6) { text-align: right; }
.grid.overview .zero { color: #a0a8b6; }
.grid.overview td.count-failed .link, .grid.overview td.count-parked .link { color: var(--danger); font-weight: 650; }
.grid.overview tr.idle td { color: var(--muted); }
.grid.overview tr.blocked td:first-child { box-shadow: inset 3px 0 0 var(--danger); }
.blocked-for { color: var(--danger); }
.sparkline { display: block; }
.sparkline .bar { fill: var(--primary); }
.sparkline .baseline { stroke: var(--line-strong); stroke-width: 1; }

/* Phones (down to 360 px): the top bar wraps, the tabs scroll, and table rows become cards whose
   cells name their column (data-label). */
@media (max-width: 640px) {
  .topbar { flex-wrap: wrap; height: auto; padding: 10px 14px; gap: 8px 14px; }
  .pills { order: 3; flex-basis: 100%; flex-wrap: wrap; }
  .tabs { overflow-x: auto; padding: 0 8px; scrollbar-width: none; }
  .tabs [role='tab'] { white-space: nowrap; padding: 12px 10px 10px; }
  main { padding: 14px 10px 60px; }
  .toolbar { gap: 8px; }
  .toolbar .hint { flex-basis: 100%; }
  .search-field, .search-field input { width: 100%; }
  .footer { flex-wrap: wrap; }
  .grid.tasks thead, .grid.overview thead, #events-table thead { display: none; }
  .grid.tasks tr, .grid.overview tr, #events-table tr {
    display: grid; grid-template-columns: 1fr 1fr; gap: 4px 12px;
    padding: 10px 12px; border-bottom: 1px solid var(--line);
  }
  .grid.tasks td, .grid.overview td, #events-table td { display: block; border: 0; padding: 2px 0; }
  .grid.tasks td.title-cell, .grid.overview td.title-cell, #events-table td.message { grid-column: 1 / -1; }
  .grid.tasks td.check { grid-column: 1 / -1; width: auto; }
  .grid.tasks td.actions { grid-column: 1 / -1; text-align: left; }
  .grid.tasks td[data-label]::before, .grid.overview td[data-label]::before {
    content: attr(data-label); display: block; font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.4px;
  }
  .grid.overview td.count { text-align: left; }
  .grid.overview tr { grid-template-columns: repeat(3, 1fr); }
  .toasts { left: 10px; right: 10px; }
  .toast { min-width: 0; }
}
`;
