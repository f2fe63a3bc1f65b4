import type { Comparison, MetricRef, Scenario } from '../scenarios.js';
import type { ChildOutcome } from './child-runner.js';
import { median } from './stats.js';

/** One run of one subject, as kept in the JSON. */
export interface RunRecord extends ChildOutcome {
  run: number;
  /** 1-minute load average just before the run started (others' work on the machine shows here). */
  loadBefore: number;
  profiled: boolean;
}

/** A scenario's outcome: runs per subject, medians, comparisons. */
export interface ScenarioResult {
  name: string;
  title: string;
  subjects: {
    id: string;
    label: string;
    job: unknown;
    runs: RunRecord[];
    medians: Record<string, number>;
  }[];
  comparisons: (Comparison & { result: number; met: boolean | null })[];
  /** Runs that failed, left out of the medians. */
  failures: { subject: string; run: number; error: string }[];
}

/** Medians of every metric a subject reported, over its runs. */
export function mediansOf(runs: readonly RunRecord[]): Record<string, number> {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.values)));
  return Object.fromEntries([...keys].map((k) => [k, median(runs.map((r) => r.values[k]!))]));
}

/** Evaluates the comparisons of a scenario on its medians. */
export function evaluate(
  scenario: Scenario,
  medians: Map<string, Record<string, number>>,
): ScenarioResult['comparisons'] {
  const valueOf = (m: MetricRef): number => medians.get(m.subject)?.[m.metric] ?? Number.NaN;
  return scenario.comparisons.map((c) => {
    const result =
      'ratio' in c.value ? valueOf(c.value.ratio[0]) / valueOf(c.value.ratio[1]) : valueOf(c.value.metric);
    let met: boolean | null = null;
    if (c.bar && Number.isFinite(result)) {
      met =
        c.bar.op === '<='
          ? result <= c.bar.limit
          : c.bar.op === '<'
            ? result < c.bar.limit
            : result >= c.bar.limit;
    }
    return { ...c, result, met };
  });
}

const fmt = (n: number, digits: number): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

/** The table printed at the end: medians, each run's value, and the bars. */
export function formatTable(scenarios: readonly Scenario[], results: readonly ScenarioResult[]): string {
  const rows: string[][] = [['', 'metric', 'median', 'runs']];
  for (const result of results) {
    const scenario = scenarios.find((s) => s.name === result.name)!;
    rows.push([result.title, '', '', '']);
    for (const subject of result.subjects) {
      const spec = scenario.subjects.find((s) => s.id === subject.id)!;
      spec.metrics.forEach((metric, i) => {
        const runs = subject.runs.map(
          (r) => fmt(r.values[metric.key] ?? Number.NaN, metric.digits) + (r.profiled ? '*' : ''),
        );
        rows.push([
          i === 0 ? `  ${subject.label}` : '',
          metric.label,
          fmt(subject.medians[metric.key] ?? Number.NaN, metric.digits),
          runs.join('  '),
        ]);
      });
    }
    for (const f of result.failures)
      rows.push([`  ! run ${f.run} of ${f.subject} failed`, '', '', f.error.split('\n')[0]!]);
    for (const c of result.comparisons) {
      const digits = c.unit === 'ms' ? 2 : 0;
      const value = c.unit === '×' ? `${fmt(c.result, 2)}×` : `${fmt(c.result, digits)} ${c.unit}`;
      const bar = c.bar
        ? `bar ${c.bar.op} ${c.bar.limit}${c.unit === '×' ? '×' : ` ${c.unit}`}: ${c.met ? 'met' : 'NOT met'}`
        : '';
      rows.push([`  → ${c.label}`, c.unit === '×' ? 'ratio' : 'check', value, bar]);
    }
  }
  const widths = rows[0]!.map((_, col) =>
    Math.max(...rows.filter((r) => r[1] !== '' || r[2] !== '' || col > 0).map((r) => r[col]!.length)),
  );
  return rows
    .map((r) => {
      if (r[1] === '' && r[2] === '' && r[3] === '' && r[0] !== '') return `\n${r[0]}`;
      return r
        .map((cell, col) => (col === 2 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
        .join('  ')
        .trimEnd();
    })
    .join('\n');
}
