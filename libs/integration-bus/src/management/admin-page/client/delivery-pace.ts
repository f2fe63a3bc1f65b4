import { h } from './dom.js';
import { timeNode } from './time.js';
import type { Connector } from './types.js';

/** A window in the shortest unit that says it exactly: "1 s", "250 ms", "1 min". */
function windowText(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * How a connector meets its external system, as the Connectors tab shows it (R-EXT-1..3): tasks
 * per call, its pace across instances, coalescing, its recovery probe, and a pause an answer asked
 * for, until when.
 */
export function deliveryPace(connector: Connector): HTMLElement {
  const parts: (HTMLElement | string)[] = [];
  const { maxBatchSize, maxCallsInFlight } = connector;
  if (maxBatchSize === 1) parts.push('One task per call');
  else if (maxBatchSize !== null) {
    const overlapping = maxCallsInFlight !== null && maxCallsInFlight > 1;
    parts.push(`Batches of ≤ ${maxBatchSize}${overlapping ? `, ${maxCallsInFlight} at once` : ''}`);
  }
  if (connector.rateLimit) {
    const { requests, perMs } = connector.rateLimit;
    parts.push(`${requests} calls / ${windowText(perMs)}`);
  }
  if (connector.coalesce === 'latest') parts.push('Latest change only');
  if (connector.probeIntervalMs !== null) parts.push(`Probed every ${windowText(connector.probeIntervalMs)}`);
  const text = h('span', { text: parts.join(' · ') });
  if (!connector.pausedUntil) return text;
  const paused = h(
    'span',
    { className: 'warn-mark', title: 'An answer with pauseConnector paused every task of this connector' },
    ['Paused until ', timeNode(connector.pausedUntil)],
  );
  return h('span', { className: 'pace' }, [text, paused]);
}
