import type {
  Connector,
  Direction,
  EventLogEntry,
  Settings,
  SynchronizationStatus,
  TaskListItem,
} from './types.js';

/** A task list's items, paging cursor, filters and selection. */
export interface TaskList {
  items: TaskListItem[];
  cursor: string | null;
  selected: Map<string, TaskListItem>;
  connector: string;
  status: SynchronizationStatus | '';
  search: string;
}

/** The role of the page's token (`GET /{path}/access`): a viewer only reads (R-OPS-2). */
export type Role = 'admin' | 'viewer';

/** What the page holds between renders. */
export const state: {
  role: Role;
  settings: Settings | null;
  connectors: Connector[];
  tab: string | null;
  lists: Record<Direction, TaskList>;
  events: { items: EventLogEntry[]; cursor: string | null };
  editing: Connector | null;
  /** When the Overview was last read (ISO 8601). */
  overviewAt: string | null;
} = {
  role: 'admin',
  settings: null,
  connectors: [],
  tab: null,
  lists: { outgoing: newList(), incoming: newList() },
  events: { items: [], cursor: null },
  editing: null,
  overviewAt: null,
};

function newList(): TaskList {
  return { items: [], cursor: null, selected: new Map(), connector: '', status: '', search: '' };
}

/** Whether processing of `direction` is switched on (the bus too). */
export function processingOn(direction: Direction): boolean {
  const s = state.settings;
  if (!s) return false;
  return s.enabled && (direction === 'incoming' ? s.processIncoming : s.processOutgoing);
}

/** Whether the page may change things: false for a viewer, whose actions are left out. */
export function canChange(): boolean {
  return state.role === 'admin';
}

/** Rows per page of the lists. */
export const PAGE_SIZE = 50;
