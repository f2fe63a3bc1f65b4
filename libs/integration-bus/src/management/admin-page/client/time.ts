/** Times as the page shows them: relative ("3 min ago"), the absolute time with its zone on hover. */

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const UNITS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** `value` (ISO 8601) relative to `now`: "5 sec. ago", "in 2 min.", "now". */
export function relativeTime(value: string, now = Date.now()): string {
  const ms = Date.parse(value) - now;
  if (Number.isNaN(ms)) return value;
  if (Math.abs(ms) < 1000) return 'now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(ms) >= size || unit === 'second') return relative.format(Math.trunc(ms / size), unit);
  }
  return value;
}

/** `value` in the browser's locale and time zone, with the zone named. */
export function absoluteTime(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return `${date.toLocaleString(undefined, { timeZoneName: 'short' })} (${zone})`;
}

/** A `<time>` showing `value` relative to now, absolute with time zone on hover. */
export function timeNode(value: string | null | undefined, fallback = ''): HTMLElement {
  const el = document.createElement('time');
  if (!value) {
    el.textContent = fallback;
    return el;
  }
  el.dateTime = value;
  el.textContent = relativeTime(value);
  el.title = absoluteTime(value);
  return el;
}
