import { ADMIN_TOKEN_STORAGE_KEY } from '../management.constants.js';

/**
 * The admin page's HTML shell (SPEC §8): tabs, panels and dialogs that the page's modules
 * (`admin-page/client`) fill through the API. It holds no data, so it is served without a token; the script asks for
 * the token. `assets` is the relative URL prefix of `app.css` / `app.js` (`admin/` or empty,
 * depending on a trailing slash in the page's URL).
 */
export function adminPageHtml(assets: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Integration bus</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}app.css">
<script type="module" src="${assets}app.js"></script>
</head>
<body data-token-key="${ADMIN_TOKEN_STORAGE_KEY}">
<header class="topbar">
  <div class="brand">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 8h14M14 4l4 4-4 4M20 16H6M10 12l-4 4 4 4" /></svg>
    <span>Integration bus</span>
  </div>
  <div class="pills" id="status-pills" aria-live="polite"></div>
  <div class="top-actions">
    <span class="role-badge" id="role-badge" hidden></span>
    <label class="top-link auto-refresh"><input type="checkbox" id="auto-refresh"> Auto-refresh</label>
    <a class="top-link" href="${assets === '' ? '../' : ''}docs" target="_blank" rel="noopener">API docs</a>
    <button type="button" class="top-link" id="sign-out" hidden>Sign out</button>
  </div>
</header>

<nav class="tabs" role="tablist" aria-label="Integration bus">
  <button type="button" role="tab" id="tab-overview" data-tab="overview" aria-controls="panel-overview">Overview</button>
  <button type="button" role="tab" id="tab-outgoing" data-tab="outgoing" aria-controls="panel-outgoing">Outgoing tasks</button>
  <button type="button" role="tab" id="tab-incoming" data-tab="incoming" aria-controls="panel-incoming">Incoming tasks</button>
  <button type="button" role="tab" id="tab-connectors" data-tab="connectors" aria-controls="panel-connectors">Connectors</button>
  <button type="button" role="tab" id="tab-settings" data-tab="settings" aria-controls="panel-settings">Settings</button>
  <button type="button" role="tab" id="tab-events" data-tab="events" aria-controls="panel-events">Event log</button>
</nav>

<main id="main" hidden>
  <section class="panel" id="panel-overview" role="tabpanel" aria-labelledby="tab-overview" hidden>
    <div class="toolbar">
      <p class="hint">Per connector and direction. Click a count to see those tasks.</p>
      <p class="hint" id="overview-note" hidden></p>
      <span class="spacer"></span>
      <button type="button" class="button" id="overview-refresh">Refresh</button>
    </div>
    <div class="card table-wrap">
      <table class="grid overview" id="overview-table">
        <thead><tr><th>Connector</th><th>Waiting</th><th>Retrying</th><th>Failed</th><th>Skipped</th><th>Parked</th><th>Oldest</th><th>Last run</th><th>Throughput</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" hidden>No connectors are registered.</p>
    </div>
  </section>

  <section class="panel" id="panel-outgoing" role="tabpanel" aria-labelledby="tab-outgoing" data-direction="outgoing" hidden></section>
  <section class="panel" id="panel-incoming" role="tabpanel" aria-labelledby="tab-incoming" data-direction="incoming" hidden></section>

  <section class="panel" id="panel-connectors" role="tabpanel" aria-labelledby="tab-connectors" hidden>
    <div class="toolbar">
      <p class="hint">Adding, editing or deleting a connector takes effect at once on every instance.</p>
      <span class="spacer"></span>
      <button type="button" class="button primary admin-only" id="new-connector">New connector</button>
    </div>
    <div class="card table-wrap">
      <table class="grid" id="connectors-table">
        <thead><tr><th>Display name</th><th>Code name</th><th>Class name</th><th>Ordering</th><th>Delivery</th><th>Enabled</th><th>Status</th><th class="actions">Actions</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" hidden>No connectors are registered.</p>
    </div>
  </section>

  <section class="panel" id="panel-settings" role="tabpanel" aria-labelledby="tab-settings" hidden>
    <div class="card settings" id="settings-list"></div>
    <div class="card retention" id="retention" role="region" aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      <p class="hint">What the bus keeps of its logs and parked tasks (option <code>retention</code>). Older rows are pruned every few minutes, in small batches, by one instance at a time.</p>
      <dl class="facts" id="retention-facts"></dl>
      <p class="hint" id="retention-last" aria-live="polite"></p>
    </div>
  </section>

  <section class="panel" id="panel-events" role="tabpanel" aria-labelledby="tab-events" hidden>
    <div class="toolbar">
      <p class="hint">Newest first.</p>
      <span class="spacer"></span>
      <button type="button" class="button" id="events-refresh">Refresh</button>
    </div>
    <div class="card table-wrap">
      <table class="grid" id="events-table">
        <thead><tr><th>Time</th><th>Level</th><th>Source</th><th>Event code</th><th>Connector</th><th>Task</th><th>Message</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="empty" hidden>The event log is empty.</p>
    </div>
    <div class="footer"><span class="spacer"></span><button type="button" class="button" id="events-more" hidden>Load more</button></div>
  </section>
</main>

<template id="task-panel">
  <div class="toolbar">
    <label class="field-inline">Connector
      <select class="connector-filter"><option value="">(all)</option></select>
    </label>
    <label class="field-inline">Status
      <select class="status-filter">
        <option value="">(all)</option>
        <option value="waiting">Waiting</option>
        <option value="failed">Failed</option>
        <option value="retrying">Retrying</option>
        <option value="skipped">Skipped</option>
        <option value="parked">Parked</option>
      </select>
    </label>
    <label class="field-inline search-field">Search
      <input type="search" class="search" maxlength="200" placeholder="Title or object type" autocomplete="off">
    </label>
    <button type="button" class="button refresh">Refresh</button>
    <span class="spacer"></span>
    <p class="processing-off" hidden></p>
  </div>
  <div class="card table-wrap">
    <table class="grid tasks">
      <thead><tr>
        <th class="check admin-only"><input type="checkbox" class="select-page" aria-label="Select all shown tasks"></th>
        <th>Task title</th><th>Task type</th><th>Task time</th><th>Connector</th><th>Status</th><th class="actions">Actions</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p class="empty" hidden>No tasks are waiting.</p>
  </div>
  <div class="footer">
    <div class="bulk admin-only">
      <select class="bulk-scope" aria-label="Tasks to act on">
        <option value="selected">Selected tasks</option>
        <option value="all">All tasks</option>
      </select>
      <select class="bulk-action" aria-label="Action">
        <option value="">(select an action)</option>
        <option value="synchronize">Synchronize</option>
        <option value="requeue">Requeue</option>
        <option value="delete">Delete</option>
      </select>
      <button type="button" class="button primary bulk-ok">OK</button>
      <span class="muted selection-count"></span>
    </div>
    <span class="spacer"></span>
    <span class="muted shown-count"></span>
    <button type="button" class="button load-more" hidden>Load more</button>
  </div>
</template>

<dialog id="login-dialog" class="dialog narrow" aria-labelledby="login-title">
  <form id="login-form" class="dialog-body">
    <h2 id="login-title">Sign in</h2>
    <p class="muted">Enter the admin token of the integration bus (<code>http.adminToken</code>), or its read-only viewer token (<code>http.viewerToken</code>). It is kept for this browser tab only.</p>
    <label class="field">Admin token (or viewer token)
      <input type="password" id="login-token" autocomplete="current-password" required>
    </label>
    <p class="form-error" id="login-error" role="alert" hidden></p>
    <div class="dialog-actions"><button type="submit" class="button primary">Sign in</button></div>
  </form>
</dialog>

<dialog id="partitions-dialog" class="dialog wide" aria-labelledby="partitions-dialog-title">
  <div class="dialog-head"><h2 id="partitions-dialog-title">Partitions</h2><button type="button" class="icon-button close" aria-label="Close">&#x2715;</button></div>
  <div class="dialog-body" id="partitions-dialog-body"></div>
  <div class="dialog-actions"><button type="button" class="button close">Close</button></div>
</dialog>

<dialog id="task-dialog" class="dialog wide" aria-labelledby="task-dialog-title">
  <div class="dialog-head"><h2 id="task-dialog-title">Task detail</h2><button type="button" class="icon-button close" aria-label="Close">&#x2715;</button></div>
  <div class="dialog-body" id="task-dialog-body"></div>
  <div class="dialog-actions"><button type="button" class="button close">Close</button></div>
</dialog>

<dialog id="log-dialog" class="dialog wide" aria-labelledby="log-dialog-title">
  <div class="dialog-head"><h2 id="log-dialog-title">Synchronization log</h2><button type="button" class="icon-button close" aria-label="Close">&#x2715;</button></div>
  <div class="dialog-body" id="log-dialog-body"></div>
  <div class="dialog-actions"><button type="button" class="button close">Close</button></div>
</dialog>

<dialog id="connector-dialog" class="dialog narrow" aria-labelledby="connector-dialog-title">
  <form id="connector-form" class="dialog-body">
    <h2 id="connector-dialog-title">New connector</h2>
    <label class="field">Display name <input type="text" name="displayName" maxlength="200"></label>
    <label class="field">Code name <input type="text" name="codeName" maxlength="100" pattern="[A-Za-z0-9_.\\-]+" required></label>
    <label class="field">Class name <input type="text" name="className" maxlength="200"></label>
    <label class="check-field"><input type="checkbox" name="enabled" checked> Enabled</label>
    <p class="form-error" id="connector-error" role="alert" hidden></p>
    <div class="dialog-actions">
      <button type="button" class="button close">Cancel</button>
      <button type="submit" class="button primary">Save</button>
    </div>
  </form>
</dialog>

<dialog id="confirm-dialog" class="dialog narrow" aria-labelledby="confirm-title">
  <div class="dialog-body">
    <h2 id="confirm-title">Are you sure?</h2>
    <p class="muted" id="confirm-text"></p>
    <div class="dialog-actions">
      <button type="button" class="button" id="confirm-cancel">Cancel</button>
      <button type="button" class="button danger" id="confirm-ok">Delete</button>
    </div>
  </div>
</dialog>

<div class="toasts" id="toasts" aria-live="polite"></div>
</body>
</html>
`;
}
