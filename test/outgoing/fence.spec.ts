import { describe, expect, it } from 'vitest';
import { ClaimLostError, IntegrationProcessResult, type OutgoingTask } from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { useBusApp } from '../support/bus-app.js';
import { Role } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

const R = IntegrationProcessResult;
const log: CallLog = [];
/** What reached "the external system": the writes the handlers made after their fence passed. */
const writes: { taskId: number; sequence: number; name: string }[] = [];
const LEASE_MS = 1000;
const fenced = recordingConnector('Fenced', [{ objectType: 'cms.role' }], log, { callTimeoutMs: 300 });

const t = useBusApp({
  providers: [fenced.provider],
  bus: { leaseMs: LEASE_MS, outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

/** The handler's external write: made only when the task's fence lets it. */
function write(task: OutgoingTask): void {
  task.fence();
  writes.push({ taskId: task.id, sequence: task.sequence, name: (task.object as Role).name });
}

/** Blocks this process's event loop, as a GC pause, a frozen VM or SIGSTOP would: no timer runs. */
function freeze(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function createRole(id: number, name: string): Promise<void> {
  const em = t.em();
  em.create(Role, { id, name });
  await em.flush();
}

async function queued(): Promise<{ taskId: string; attempts: number; state: string | null }[]> {
  return t.sql(
    `select task_id::text as "taskId", attempts, state from ${ALL_SYNCHRONIZATIONS_SQL} s order by task_id`,
  );
}

describe('task.fence() (R-DEL-2: fencing reaches the external write)', () => {
  it('refuses the write of a handler paused past its lease: nothing written, the task left as it was, delivered by the next run', async () => {
    log.length = 0;
    writes.length = 0;
    await createRole(1, 'paused');
    let refusal: unknown;
    let signalAborted = false;
    fenced.control.respond = (task) => {
      freeze(LEASE_MS + 200); // no renewal can run meanwhile: the claim's validity passes
      try {
        write(task);
      } catch (error) {
        refusal = error;
        signalAborted = task.signal.aborted;
        throw error;
      }
      return R.OK;
    };
    const first = await t.bus.processOutgoingTasks('Fenced');
    expect(refusal).toBeInstanceOf(ClaimLostError);
    expect((refusal as Error).message).toContain('paused');
    expect(signalAborted).toBe(true);
    expect(writes).toEqual([]);
    // Not an attempt: no Error, no state, no backoff; the queue's next holder delivers it.
    expect(first).toMatchObject({ [R.OK]: 0, [R.Error]: 0 });
    expect(await queued()).toEqual([{ taskId: String(log[0]!.task.id), attempts: 0, state: null }]);

    fenced.control.respond = (task) => {
      write(task);
      return R.OK;
    };
    const second = await t.bus.processOutgoingTasks('Fenced');
    expect(second).toMatchObject({ [R.OK]: 1 });
    expect(writes.map((w) => w.name)).toEqual(['paused']);
    expect(await queued()).toEqual([]);
  });

  it('refuses the write of a call the bus stopped waiting for (callTimeoutMs): the attempt is the timeout’s Error, and the late write never happens', async () => {
    log.length = 0;
    writes.length = 0;
    await createRole(2, 'slow');
    let refusal: unknown;
    let settled!: () => void;
    const lateCallEnded = new Promise<void>((resolve) => (settled = resolve));
    fenced.control.respond = async (task) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        write(task);
      } catch (error) {
        refusal = error;
        throw error;
      } finally {
        settled();
      }
      return R.OK;
    };
    const counts = await t.bus.processOutgoingTasks('Fenced');
    expect(counts).toMatchObject({ [R.Error]: 1, [R.OK]: 0 });
    await lateCallEnded;
    expect(refusal).toBeInstanceOf(ClaimLostError);
    expect((refusal as Error).message).toContain('timed out after 300 ms');
    expect(writes).toEqual([]);
    const [row] = await queued();
    expect(row).toMatchObject({ attempts: 1, state: 'failed' });
    await t.sql(`delete from integration_task`);
  });

  it('task.sequence grows with each object’s commit order and is what the relays send (the task id today)', async () => {
    log.length = 0;
    writes.length = 0;
    await t.sql(`delete from integration_task`);
    await createRole(10, 'a-v1');
    await createRole(11, 'b-v1');
    for (const version of [2, 3]) {
      const em = t.em();
      for (const id of [11, 10]) {
        const role = await em.findOneOrFail(Role, id);
        role.name = `${id === 10 ? 'a' : 'b'}-v${version}`;
      }
      await em.flush();
    }
    fenced.control.respond = (task) => {
      write(task);
      return R.OK;
    };
    await t.bus.processOutgoingTasks('Fenced');
    const of = (prefix: string) => writes.filter((w) => w.name.startsWith(prefix));
    for (const prefix of ['a-', 'b-']) {
      expect(of(prefix).map((w) => w.name)).toEqual([1, 2, 3].map((v) => `${prefix}v${v}`));
      const sequences = of(prefix).map((w) => w.sequence);
      expect([...sequences].sort((x, y) => x - y)).toEqual(sequences);
      expect(new Set(sequences).size).toBe(3);
    }
    for (const w of writes) expect(w.sequence).toBe(w.taskId);
  });
});
