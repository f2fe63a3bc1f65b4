import type { Delivery } from './external-system.js';

/** What one connector's deliveries look like against the changes committed. */
export interface DeliveryReport {
  connector: string;
  /** Deliveries (calls answered 200). */
  delivered: number;
  /** Changes never delivered, as `object@version`. */
  missing: string[];
  /** Deliveries of no committed change. */
  unexpected: string[];
  /** Deliveries of a change delivered before. */
  duplicates: number;
  /** Changes delivered for the first time after a later version of the same object (R-DEL-1). */
  outOfOrder: string[];
  /** Objects whose last delivered version is not the database's (stale data downstream). */
  stale: string[];
}

/**
 * Checks one connector's deliveries, in arrival order, against the changes committed: object `id`
 * went from version `before.get(id)` to `after.get(id)`, one task per version in between (the
 * producer's changes are serialized by a row lock, so versions are commit order).
 */
export function checkDeliveries(
  connector: string,
  deliveries: readonly Delivery[],
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): DeliveryReport {
  const report: DeliveryReport = {
    connector,
    delivered: 0,
    missing: [],
    unexpected: [],
    duplicates: 0,
    outOfOrder: [],
    stale: [],
  };
  const seen = new Map<number, Set<number>>();
  const highest = new Map<number, number>();
  const last = new Map<number, number>();
  for (const d of deliveries) {
    if (d.connector !== connector || d.outcome !== 'ok') continue;
    report.delivered += 1;
    const from = (before.get(d.objectId) ?? Infinity) + 1;
    const to = after.get(d.objectId) ?? -Infinity;
    if (d.version < from || d.version > to) report.unexpected.push(`${d.objectId}@${d.version}`);
    const versions = seen.get(d.objectId) ?? new Set<number>();
    seen.set(d.objectId, versions);
    if (versions.has(d.version)) {
      report.duplicates += 1;
    } else {
      versions.add(d.version);
      if (d.version < (highest.get(d.objectId) ?? -Infinity)) {
        report.outOfOrder.push(`${d.objectId}@${d.version} after @${highest.get(d.objectId)}`);
      }
    }
    highest.set(d.objectId, Math.max(d.version, highest.get(d.objectId) ?? -Infinity));
    last.set(d.objectId, d.version);
  }
  for (const [id, to] of after) {
    const from = (before.get(id) ?? to) + 1;
    for (let v = from; v <= to; v++) if (!seen.get(id)?.has(v)) report.missing.push(`${id}@${v}`);
    if (from <= to && last.get(id) !== to) report.stale.push(`${id}: ${last.get(id) ?? 'none'} != ${to}`);
  }
  return report;
}

const cut = (list: string[]) => (list.length > 8 ? [...list.slice(0, 8), `… ${list.length} in all`] : list);

/** The report with long lists cut, for a readable assertion message. */
export function summary(report: DeliveryReport): Record<string, unknown> {
  return {
    ...report,
    missing: cut(report.missing),
    unexpected: cut(report.unexpected),
    outOfOrder: cut(report.outOfOrder),
    stale: cut(report.stale),
  };
}

/** The pid that made most of a connector's last deliveries before `at`: who is processing it. */
export function holderOf(deliveries: readonly Delivery[], connector: string, at: number): number | undefined {
  const recent = deliveries.filter((d) => d.connector === connector && d.outcome === 'ok' && d.at <= at);
  return recent.at(-1)?.pid;
}

/**
 * Where a connector's queue order was broken: with each delivery's first occurrence only (a repeat
 * after a crash is a duplicate, not a reordering), the places where a task came before one with a
 * lower id. Producer `once` plans log objects in id order, one change each, so task order is object
 * order there.
 */
export function fifoBreaks(deliveries: readonly Delivery[], connector: string): string[] {
  const breaks: string[] = [];
  const seen = new Set<number>();
  let previous = -Infinity;
  for (const d of deliveries) {
    if (d.connector !== connector || d.outcome !== 'ok' || seen.has(d.taskId)) continue;
    seen.add(d.taskId);
    if (d.taskId < previous) breaks.push(`task ${d.taskId} after ${previous}`);
    previous = Math.max(previous, d.taskId);
  }
  return breaks;
}
