import { afterEach, describe, expect, it } from 'vitest';
import { IntegrationProcessResult, type OutgoingTask } from 'nestjs-integration-bus';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

// The drain's pipeline (OutgoingProcessor.drain): half batches, the next read while one is processed
// and one written while the next is processed. What must hold whatever the timing: order, no task
// twice, and never more than batchSize tasks processed and not yet written.

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };
const log: CallLog = [];
afterEach(() => {
  log.length = 0;
});

const nameOf = (task: OutgoingTask) => (task.object as User).userName;
const names = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`);

async function createUsers(t: BusTestApp, userNames: string[]): Promise<void> {
  const em = t.em();
  for (const userName of userNames) em.create(User, { userName, email: `${userName}@example.com` });
  await em.flush();
}

describe('the pipelined drain', () => {
  it('delivers in order, once each, with at most batchSize tasks processed and not yet written', async () => {
    const total = 240;
    const batchSize = 20;
    const c = recordingConnector('Piped', [{ objectType: 'cms.user' }], log);
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize } }, async (t) => {
      await createUsers(t, names(total));
      let processed = 0;
      let unwrittenMax = 0;
      c.control.respond = async () => {
        // Done here but still queued in the database: processed and not yet written.
        const [row] = await t.sql<{ n: number }>(`select count(*)::int as n from integration_task`);
        unwrittenMax = Math.max(unwrittenMax, processed - (total - row!.n));
        processed += 1;
        return R.OK;
      };
      expect(await t.bus.processOutgoingTasks('Piped')).toMatchObject({ OK: total });
      expect(log.map((x) => nameOf(x.task))).toEqual(names(total));
      expect(await t.sql(`select count(*)::int as n from integration_task`)).toEqual([{ n: 0 }]);
      console.log(
        `pipelined drain: at most ${unwrittenMax} tasks processed and not yet written (bound ${batchSize})`,
      );
      expect(unwrittenMax).toBeLessThanOrEqual(batchSize);
    });
  });

  it('an Error mid-way stops the run at that task: nothing read ahead is delivered', async () => {
    const c = recordingConnector('Piped', [{ objectType: 'cms.user' }], log, {
      retry: { initialDelayMs: 60_000 },
    });
    await withBusApp({ providers: [c.provider], bus: { ...MANUAL, batchSize: 10 } }, async (t) => {
      const all = names(60);
      await createUsers(t, all);
      c.control.respond = (task) => (nameOf(task) === 'p023' ? R.Error : R.OK);
      expect(await t.bus.processOutgoingTasks('Piped')).toMatchObject({ OK: 23, ERROR: 1 });
      expect(log.map((x) => nameOf(x.task))).toEqual(all.slice(0, 24));
      const left = await t.sql<{ title: string }>(`select title from integration_task order by id`);
      expect(left).toHaveLength(37);
      expect(left[0]!.title).toContain('p023');
    });
  });

  it('a run cut short by batchMaxDurationMs drops what it read ahead and goes on in order', async () => {
    const c = recordingConnector('Piped', [{ objectType: 'cms.user' }], log);
    await withBusApp(
      { providers: [c.provider], bus: { ...MANUAL, batchSize: 8, batchMaxDurationMs: 20 } },
      async (t) => {
        await createUsers(t, names(40));
        c.control.respond = async () => {
          await new Promise((r) => setTimeout(r, 7));
          return R.OK;
        };
        expect(await t.bus.processOutgoingTasks('Piped')).toMatchObject({ OK: 40 });
        expect(log.map((x) => nameOf(x.task))).toEqual(names(40));
      },
    );
  });
});
