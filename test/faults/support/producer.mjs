// The application side of the fault tests: changes `fault_item` rows through MikroORM flushes, so the
// bus logs their tasks as in any host, from a process that does not process them itself.
// `node producer.mjs '<plan>'` with FAULT_CONFIG set; the plan (JSON) is one of
// - `{ "mode": "once", "ids": [from, to], "perTransaction": 50 }`: each object once, in id order,
//   `perTransaction` objects per transaction;
// - `{ "mode": "traffic", "ids": [from, to], "durationMs", "rate", "lanes", "holdIds": [from, to],
//   "holdEveryMs", "holdMs": [min, max], "burst" }`: random single-object changes of `ids` at about
//   `rate` per second from `lanes` concurrent loops; and, with `holdIds`, every `holdEveryMs` a change of one of
//   `holdIds` held open for `holdMs` after its flush (its task id taken, not committed), with one
//   transaction changing `burst` objects of `ids` committed 400 ms before it (tasks with higher ids:
//   a drain passes the held task while it is invisible) and a second change of the held object
//   queued behind its row lock (committed right after it, with a higher id still).
// Each change is `version = version + 1` under a row lock, so an object's versions are its commit
// order. Prints `done {"commits":…,"held":…}` at the end.
import { NestFactory } from '@nestjs/core';
import { LockMode, MikroORM } from '@mikro-orm/core';
import { FaultItem, faultModule, readConfig } from './fault-app.mjs';

const config = readConfig();
const plan = JSON.parse(process.argv[2]);
const app = await NestFactory.createApplicationContext(
  faultModule(config, {
    settings: { processOutgoing: false },
    outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
  }),
  { logger: ['warn', 'error'] },
);
await app.init();
const orm = app.get(MikroORM);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let commits = 0;
let held = 0;

/** One transaction changing `ids`; `onFlushed` runs once its tasks are logged, `holdMs` later it commits. */
async function change(ids, holdMs = 0, onFlushed = () => {}) {
  const started = Date.now();
  // A change that waits far longer than any lock a resync chunk or a held transaction keeps says so.
  const slow = setInterval(
    () => console.log(`change of ${ids.join(', ')} still waiting after ${Date.now() - started} ms`),
    15_000,
  );
  try {
    await orm.em.fork().transactional(async (em) => {
      const items = await em.find(
        FaultItem,
        { id: { $in: ids } },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
      );
      for (const item of items) item.version += 1;
      await em.flush();
      onFlushed();
      if (holdMs > 0) await sleep(holdMs);
    });
  } finally {
    clearInterval(slow);
  }
  commits += ids.length;
}

const [from, to] = plan.ids;
const randomIn = ([low, high]) => low + Math.floor(Math.random() * (high - low + 1));
const randomId = () => randomIn(plan.ids);

if (plan.mode === 'once') {
  for (let id = from; id <= to; id += plan.perTransaction) {
    const ids = [];
    for (let i = id; i < Math.min(id + plan.perTransaction, to + 1); i++) ids.push(i);
    await change(ids);
  }
} else if (plan.mode === 'traffic') {
  const end = Date.now() + plan.durationMs;
  const pause = (1000 * plan.lanes) / plan.rate;
  const lane = async () => {
    while (Date.now() < end) {
      const started = Date.now();
      await change([randomId()]);
      await sleep(Math.max(0, pause - (Date.now() - started)));
    }
  };
  const holder = async () => {
    const pairs = [];
    while (Date.now() + plan.holdMs[1] < end) {
      const id = randomIn(plan.holdIds);
      const holdMs = plan.holdMs[0] + Math.floor(Math.random() * (plan.holdMs[1] - plan.holdMs[0]));
      let flushed;
      const logged = new Promise((resolve) => (flushed = resolve));
      const first = change([id], holdMs, flushed);
      await Promise.race([logged, first]);
      // Shortly before the held change commits, higher task ids committed while it is invisible
      // (a drain is in the middle of them when it commits); then the held object's next version,
      // queued behind its row lock: committed right after it, with a higher id still.
      await sleep(Math.max(0, holdMs - 400));
      const burst = new Set();
      while (burst.size < Math.min(plan.burst, to - from + 1)) burst.add(randomId());
      await change([...burst]);
      pairs.push(first, change([id]));
      held += 1;
      await sleep(plan.holdEveryMs);
    }
    await Promise.all(pairs);
  };
  await Promise.all([plan.holdIds ? holder() : null, ...Array.from({ length: plan.lanes }, lane)]);
} else {
  throw new Error(`unknown mode ${plan.mode}`);
}

// Which phase a producer that never printed `done` was in (the harness kills it past its time).
console.log(`changes ended ${JSON.stringify({ commits, held })}`);
// A close that hangs says what it waits on: checked-out connections keep MikroORM's pool from ending.
const pool = await orm.em.getConnection().getNativeClient();
const closeStarted = Date.now();
const closing = setInterval(() => {
  const clients = `pool: ${pool.totalCount} clients, ${pool.idleCount} idle, ${pool.waitingCount} waiting`;
  const handles = process.getActiveResourcesInfo().join(', ');
  console.log(`still closing after ${Date.now() - closeStarted} ms; ${clients}; handles: ${handles}`);
}, 15_000);
closing.unref();
await app.close();
clearInterval(closing);
console.log(`done ${JSON.stringify({ commits, held })}`);
