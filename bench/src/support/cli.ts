import { parseArgs } from 'node:util';

/** Command-line options of `npm run bench -- …`. */
export interface BenchOptions {
  /** Runs of each scenario; the table shows medians. */
  runs: number;
  /** Factor on queue sizes and durations, for a quick check (`0.1`); 1 = the sizes of the issue. */
  scale: number;
  /** Scenario names to run; all when empty. */
  only: string[];
  /** Subject ids to run within those scenarios (e.g. `bus,bus-100`); all when empty. */
  subjects: string[];
  /** Write a CPU profile (`--cpu-prof`) of every bus subject into `bench/results/profiles/`. */
  profile: boolean;
}

export const USAGE = `Usage: npm run bench -- [--runs N] [--scale F] [--only a,b] [--subjects a,b] [--profile]
  --runs N        runs of each scenario, medians reported (default 3)
  --scale F       multiply queue sizes and durations by F, e.g. 0.05 for a quick check (default 1)
  --only a,b      run only these scenarios: overhead, throughput, fanout, latency,
                  drain, scale-out, live-ordering, relay, external, resync
  --subjects a,b  run only these subjects (ids as in the JSON: bus, bus-100, gw-batched, …)
  --profile       --cpu-prof the bus's subjects (profiles in bench/results/profiles/; numbers of
                  profiled runs are slower and marked as such)
Environment: DATABASE_URL  use this server instead of starting an embedded PostgreSQL`;

/** Parses argv; throws with the usage text on anything unknown or invalid. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      scale: { type: 'string', default: '1' },
      only: { type: 'string', default: '' },
      subjects: { type: 'string', default: '' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const runs = Number(values.runs);
  const scale = Number(values.scale);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer.\n${USAGE}`);
  if (!(scale > 0 && scale <= 10)) throw new Error(`--scale must be a number in (0, 10].\n${USAGE}`);
  return { runs, scale, only: list(values.only), subjects: list(values.subjects), profile: values.profile };
}

/** `a, b,` → `['a', 'b']`. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
