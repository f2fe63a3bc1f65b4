import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildScenarios, type Scenario } from './scenarios.js';
import { runChild } from './support/child-runner.js';
import { parseOptions, USAGE, type BenchOptions } from './support/cli.js';
import { createDatabase, describeServer, startServer } from './support/postgres.js';
import { evaluate, formatTable, mediansOf, type RunRecord, type ScenarioResult } from './support/report.js';

/*
 * `npm run bench`: every scenario of issue 6, each subject in a child process of its own on a fresh
 * database of one PostgreSQL server, `--runs` times (subjects in a rotating order, so that drift on
 * a shared machine does not always favour the same one), then a table of medians and the SPEC §10
 * bars, and the whole record as JSON in bench/results/.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(REPO_ROOT, 'bench', 'results');

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const options: BenchOptions = parsed;
  const all = buildScenarios(options.scale);
  const unknown = options.only.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`Unknown scenario(s): ${unknown.join(', ')}.\n${USAGE}`);
  const scenarios = selectScenarios(all, options);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profileDir = join(RESULTS, 'profiles', stamp);
  if (options.profile) await mkdir(profileDir, { recursive: true });

  // Taken before the first measurement: the commit the library was built from (`bench/run.sh`).
  const git = gitState();
  const server = await startServer();
  const results: ScenarioResult[] = [];
  try {
    const postgres = await describeServer(server.url);
    console.log(
      `PostgreSQL ${postgres.server_version} (${server.kind}), Node ${process.version}, ` +
        `${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
        `${options.runs} run(s), scale ${options.scale}`,
    );
    for (const scenario of scenarios) {
      results.push(await runScenario(scenario, options, server.url, profileDir));
    }
    const table = formatTable(scenarios, results);
    console.log(`\n${table}\n`);
    if (results.some((r) => r.subjects.some((s) => s.runs.some((run) => run.profiled)))) {
      console.log(`* profiled run (slower); profiles in ${profileDir}`);
    }
    await mkdir(RESULTS, { recursive: true });
    const file = join(RESULTS, `bench-${stamp}.json`);
    const record = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options,
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model ?? null,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        kernel: release(),
        node: process.version,
        loadAtEnd: loadavg(),
      },
      postgres: { ...postgres, kind: server.kind },
      git,
      scenarios: results,
      table,
    };
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`Results written to ${file}`);
  } finally {
    await server.stop();
  }
}

/** The scenarios and subjects `--only` and `--subjects` leave; comparisons need both their sides. */
function selectScenarios(all: Scenario[], options: BenchOptions): Scenario[] {
  const ids = new Set(all.flatMap((s) => s.subjects.map((subject) => subject.id)));
  const unknown = options.subjects.filter((id) => !ids.has(id));
  if (unknown.length > 0) throw new Error(`Unknown subject(s): ${unknown.join(', ')}.\n${USAGE}`);
  const wanted = (id: string): boolean => options.subjects.length === 0 || options.subjects.includes(id);
  return all
    .filter((s) => options.only.length === 0 || options.only.includes(s.name))
    .map((s) => {
      const subjects = s.subjects.filter((subject) => wanted(subject.id));
      const kept = new Set(subjects.map((subject) => subject.id));
      const comparisons = s.comparisons.filter((c) =>
        ('ratio' in c.value ? c.value.ratio : [c.value.metric]).every((m) => kept.has(m.subject)),
      );
      return { ...s, subjects, comparisons };
    })
    .filter((s) => s.subjects.length > 0);
}

async function runScenario(
  scenario: Scenario,
  options: BenchOptions,
  serverUrl: string,
  profileDir: string,
): Promise<ScenarioResult> {
  console.log(`\n${scenario.title}`);
  const runs = new Map<string, RunRecord[]>(scenario.subjects.map((s) => [s.id, []]));
  const failures: ScenarioResult['failures'] = [];
  for (let run = 1; run <= options.runs; run++) {
    const n = scenario.subjects.length;
    const order = scenario.subjects.map((_, i) => scenario.subjects[(i + run - 1) % n]!);
    for (const subject of order) {
      const profiled = options.profile && subject.bus;
      const profileName = `${scenario.name}-${subject.id}-run${run}.cpuprofile`;
      const execArgv = [
        ...(subject.nodeFlags ?? []),
        ...(profiled ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : []),
      ];
      const env: Record<string, string> = profiled
        ? { BENCH_PROFILE_WINDOW: join(profileDir, `${profileName}.window.json`) }
        : {};
      const database = await createDatabase(serverUrl, `${scenario.name}_${subject.id}`);
      const loadBefore = loadavg()[0]!;
      try {
        const outcome = await runChild({ databaseUrl: database.url, job: subject.job }, execArgv, env);
        runs.get(subject.id)!.push({ ...outcome, run, loadBefore, profiled });
        const shown = subject.metrics
          .map((m) => `${m.label} ${(outcome.values[m.key] ?? Number.NaN).toFixed(m.digits)}`)
          .join(', ');
        console.log(`  run ${run}  ${subject.label}: ${shown}  (load ${loadBefore.toFixed(2)})`);
      } catch (error) {
        // One failed run must not cost the others: it is kept in the record and left out of the medians.
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ subject: subject.id, run, error: message });
        console.log(`  run ${run}  ${subject.label}: FAILED ${message.split('\n')[0]}`);
      } finally {
        await database.drop();
      }
    }
  }
  const subjects = scenario.subjects.map((s) => {
    const subjectRuns = runs.get(s.id)!;
    return { id: s.id, label: s.label, job: s.job, runs: subjectRuns, medians: mediansOf(subjectRuns) };
  });
  const medians = new Map(subjects.map((s) => [s.id, s.medians]));
  return {
    name: scenario.name,
    title: scenario.title,
    subjects,
    comparisons: evaluate(scenario, medians),
    failures,
  };
}

function gitState(): { commit: string; libraryDirty: boolean } | null {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    return {
      commit: git('rev-parse', 'HEAD'),
      libraryDirty: git('status', '--porcelain', '--', 'libs/integration-bus').length > 0,
    };
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
