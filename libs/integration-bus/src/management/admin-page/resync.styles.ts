/** The admin page's styles of the Resyncs card and dialog (client/resync.ts), after `ADMIN_PAGE_STYLES`. */
export const RESYNC_STYLES = String.raw`
.card.resyncs { margin-top: 18px; }
.card.resyncs .card-head { padding: 14px 16px 4px; }
.card.resyncs .card-head h2 { margin: 0 0 4px; font-size: 15px; }
.card.resyncs .empty { padding: 12px 16px; }
.resync-progress { min-width: 220px; }
.resync-progress progress { width: 100%; height: 10px; accent-color: var(--primary); }
.badge.resync-running { background: var(--primary-soft); color: var(--primary-dark); }
.badge.resync-done { background: var(--ok-soft); color: var(--ok); }
.badge.resync-failed { background: #fde8e8; color: var(--danger); }
.badge.resync-cancelled { background: var(--warn-soft); color: var(--warn); }
#resync-form textarea { width: 100%; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.requeue-refresh { gap: 6px; }
`;
