import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXTERNAL_CONNECTOR, externalConnector } from './external/bus-connectors.js';
import { BenchUser } from './host/bench-user.entity.js';
import { startHost } from './host/host-app.js';
import type { ExternalWorkerConfig } from './measure/external.js';
import { profileClock, recordProfileWindow } from './measure/profile-window.js';

/*
 * One instance of the `external` scenario: a host with the bus and the variant's connector to the
 * fake service, processing as an application does (after commit, retries on the bus's own timers),
 * with the `processOutgoing` switch off until told to go. The instance with `seed` first writes the
 * changes through MikroORM: `objects` users created in one flush, then `versions - 1` flushes each
 * changing every user once; the bus logs one task per change.
 * Protocol on stdio: prints `ready`; `go` on stdin switches processing on (instance with
 * `switchOn`; the others are told by the bus); `stop` prints `done {…}` (this instance's requests
 * and answers) and exits.
 */
const config = JSON.parse(process.argv[2] ?? '') as ExternalWorkerConfig;
const counts = { requests: 0, records: 0, ok: 0, rejected429: 0, otherErrors: 0 };
/**
 * Where a call's time goes, summed over the calls: building the records from the tasks, the request
 * (the service's 20 ms and HTTP), and the bus between the end of one call and the start of the next
 * (writing outcomes, reading the next tasks; calls after a pause or a wait for a retry are left out).
 */
const timing = { buildMs: 0, requestMs: 0, betweenCallsMs: 0, betweenCallsCounted: 0 };
/** Each time between calls counted above, for its median (a call within a batch read) and its tail. */
const betweenCalls: number[] = [];
let lastAnsweredAt: number | null = null;
/** When `go` came, and when the first call started after it. */
let goAt: number | null = null;
/** This process's CPU time from `go` to `stop`: the bus's own cost per call, which load moves less. */
let cpuAtGo: NodeJS.CpuUsage | null = null;
let firstCallAt: number | null = null;
/** With `--profile`: the profile clock at `go`. */
let profileStart: number | null = null;
const host = await startHost({
  databaseUrl: config.databaseUrl,
  withBus: true,
  providers: [
    externalConnector(config.variant, config.serviceUrl, (answer, call) => {
      counts.requests += 1;
      counts.records += call.records;
      timing.buildMs += call.sentAt - call.startedAt;
      timing.requestMs += call.answeredAt - call.sentAt;
      // Calls of several partitions overlap: the time between calls means something in connector order only.
      const oneAtATime = config.variant !== 'batch-object';
      if (oneAtATime && lastAnsweredAt !== null && call.startedAt - lastAnsweredAt < 200) {
        timing.betweenCallsMs += call.startedAt - lastAnsweredAt;
        timing.betweenCallsCounted += 1;
        betweenCalls.push(call.startedAt - lastAnsweredAt);
      }
      firstCallAt ??= call.startedAt;
      lastAnsweredAt = call.answeredAt;
      if (answer.ok) counts.ok += 1;
      else if (answer.status === 429) counts.rejected429 += 1;
      else counts.otherErrors += 1;
    }),
  ],
  bus: {
    settings: { processOutgoing: false },
    outgoing: { processAfterCommit: true, sweepIntervalMs: 0 },
  },
});

if (config.seed) {
  const em = host.orm.em.fork();
  const users: BenchUser[] = [];
  for (let i = 1; i <= config.seed.objects; i++) {
    users.push(em.create(BenchUser, { userName: `user-${i}`, email: `user-${i}@v1.example.com` }));
  }
  await em.flush();
  for (let version = 2; version <= config.seed.versions; version++) {
    for (const user of users) user.email = `${user.userName}@v${version}.example.com`;
    await em.flush();
  }
  const [queued] = await em
    .getConnection()
    .execute<{ n: number }[]>(`select count(*)::int as n from integration_task`);
  const expected = config.seed.objects * config.seed.versions;
  if (queued!.n !== expected) throw new Error(`Expected ${expected} queued tasks, found ${queued!.n}.`);
}
// The instances' membership beats every third of a lease: one full lease lets each count the others.
if (config.waitForPeers) await sleep(2100);
console.log('ready');

const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
for (;;) {
  const line = await input.next();
  const command = line.done ? 'stop' : line.value.trim();
  if (command === 'go') {
    goAt = performance.now();
    cpuAtGo = process.cpuUsage();
    profileStart = profileClock();
  }
  if (command === 'go' && config.switchOn) await host.bus!.updateSettings({ processOutgoing: true });
  if (command === 'stop') break;
}
if (profileStart !== null) recordProfileWindow(profileStart, profileClock());
const perCall = (ms: number, n: number): number => Math.round((ms / Math.max(1, n)) * 100) / 100;
const cpu = cpuAtGo === null ? null : process.cpuUsage(cpuAtGo);
const sortedGaps = betweenCalls.sort((a, b) => a - b);
const gapAt = (q: number): number => perCall(sortedGaps[Math.floor(q * (sortedGaps.length - 1))] ?? 0, 1);
console.log(
  `done ${JSON.stringify({
    connector: EXTERNAL_CONNECTOR,
    ...counts,
    meanBuildMs: perCall(timing.buildMs, counts.requests),
    meanRequestMs: perCall(timing.requestMs, counts.requests),
    meanBetweenCallsMs: perCall(timing.betweenCallsMs, timing.betweenCallsCounted),
    medianBetweenCallsMs: gapAt(0.5),
    p90BetweenCallsMs: gapAt(0.9),
    cpuMsPerCall: cpu === null ? null : perCall((cpu.user + cpu.system) / 1000, counts.requests),
    firstCallAfterGoMs: goAt === null || firstCallAt === null ? null : perCall(firstCallAt - goAt, 1),
  })}`,
);
// A time-limited run stops with calls under way: the bus is given a moment, not the whole shutdown.
// A profiled instance leaves at once: its profile is of the measured section, and is written on exit.
if (!process.env.BENCH_PROFILE_WINDOW) await Promise.race([host.close(), sleep(5000)]);
process.exit(0);
