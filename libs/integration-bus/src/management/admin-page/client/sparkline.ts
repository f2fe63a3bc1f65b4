/** A small inline SVG bar chart of per-minute counts (no script or style inside: CSP-safe). */

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 120;
const HEIGHT = 28;

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  return el;
}

/** Bars of `values` (oldest first), scaled to the largest; its accessible name says the total. */
export function sparkline(values: readonly number[], label: string): SVGSVGElement {
  const total = values.reduce((sum, v) => sum + v, 0);
  const max = Math.max(1, ...values);
  const chart = svg('svg', {
    class: 'sparkline',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: 'img',
    'aria-label': label,
  });
  const title = svg('title', {});
  title.textContent = label;
  chart.appendChild(title);
  chart.appendChild(svg('line', { class: 'baseline', x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5 }));
  const step = WIDTH / Math.max(1, values.length);
  values.forEach((value, i) => {
    if (value === 0) return;
    const height = Math.max(2, Math.round((value / max) * (HEIGHT - 2)));
    chart.appendChild(
      svg('rect', {
        class: 'bar',
        x: (i * step + 1).toFixed(1),
        y: HEIGHT - height,
        width: Math.max(1, step - 2).toFixed(1),
        height,
        'data-count': value,
      }),
    );
  });
  chart.dataset.total = String(total);
  return chart;
}
