import type { ChildRequest, MeasureResult } from './measure/job.js';

/*
 * One measurement per process: each subject starts with a clean heap and JIT, its peak RSS is its
 * own, and `--cpu-prof` can be given to one subject alone. The parent passes the request as JSON in
 * argv and gets the result over IPC. Modules are imported per kind, so that a bus child does not
 * carry graphile-worker or pg-boss in its memory, nor they Nest and MikroORM.
 */

async function measure({ databaseUrl, job }: ChildRequest): Promise<MeasureResult> {
  switch (job.kind) {
    case 'flush':
      return (await import('./measure/flush.js')).measureFlush(databaseUrl, job);
    case 'bus-drain':
      return (await import('./measure/bus-drain.js')).measureBusDrain(databaseUrl, job);
    case 'graphile':
      return (await import('./measure/graphile.js')).measureGraphile(databaseUrl, job);
    case 'pg-boss':
      return (await import('./measure/pg-boss.js')).measurePgBoss(databaseUrl, job);
    case 'raw':
      return (await import('./measure/raw.js')).measureRaw(databaseUrl, job);
    case 'latency':
      return (await import('./measure/latency.js')).measureLatency(databaseUrl, job);
    case 'scale-out':
      return (await import('./measure/scale-out.js')).measureScaleOut(databaseUrl, job);
    case 'live-ordering':
      return (await import('./measure/live-ordering.js')).measureLiveOrdering(databaseUrl, job);
    case 'relay-drain':
      return (await import('./measure/relay-drain.js')).measureRelayDrain(databaseUrl, job);
    case 'consumer-drain':
      return (await import('./measure/consumer-drain.js')).measureConsumerDrain(databaseUrl, job);
    case 'external':
      return (await import('./measure/external.js')).measureExternal(databaseUrl, job);
    case 'resync':
      return (await import('./measure/resync.js')).measureResync(databaseUrl, job);
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '') as ChildRequest;
  const result = await measure(request);
  await new Promise<void>((resolve, reject) =>
    process.send!({ ok: true, result }, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.send?.({ ok: false, error: message }, () => process.exit(1));
  },
);
