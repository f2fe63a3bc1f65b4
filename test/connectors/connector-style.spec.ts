import { describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  InvalidConnectorError,
  IntegrationProcessResult,
  Subscribe,
  TaskType,
  errorAndSkip,
  skipNow,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { withBusApp, type BusTestApp } from '../support/bus-app.js';
import { Page, Role, User } from '../support/entities.js';

const R = IntegrationProcessResult;
const MANUAL = { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } };

async function createUsersAndRoles(t: BusTestApp): Promise<void> {
  const em = t.em();
  em.create(User, { userName: 'ada', email: 'ada@example.com' });
  em.create(Role, { name: 'editor' });
  em.create(User, { userName: 'down', email: 'down@example.com' });
  await em.flush();
}

/** A connector in the recommended style: a method per object type, typed by its entity. */
const received: string[] = [];

@Connector('StyleConnector', { onThrow: R.ErrorAndSkip })
class StyleConnector extends BaseIntegrationConnector {
  @Subscribe({ entity: User, taskType: TaskType.CreateObject })
  user(task: OutgoingTask<User>) {
    received.push(`user ${task.object.userName}`);
    if (task.object.userName === 'down') throw new Error('connect ECONNREFUSED');
    return skipNow(`no account for ${task.object.email}`);
  }

  @Subscribe({ entity: Role })
  role(task: OutgoingTask<Role>) {
    received.push(`role ${task.object.name}`);
    return errorAndSkip(`role ${task.object.name} is unknown`);
  }
}

describe('a method per object type, result helpers, onThrow', () => {
  it('routes each entity to its method, and the helpers and onThrow answer with their messages', async () => {
    received.length = 0;
    await withBusApp({ providers: [StyleConnector], bus: MANUAL }, async (t) => {
      await createUsersAndRoles(t);
      const counts = await t.bus.processOutgoingTasks('StyleConnector');
      expect(received).toEqual(['user ada', 'role editor', 'user down']);
      // onThrow: ErrorAndSkip — the throw did not hold the queue, and counts as ErrorAndSkip.
      expect(counts).toMatchObject({ [R.SkipNow]: 1, [R.ErrorAndSkip]: 2, [R.Error]: 0 });
      const rows = await t.sql<{ title: string; state: string; error_message: string }>(
        `select t.title, s.state, s.error_message from ${ALL_SYNCHRONIZATIONS_SQL} s
           join integration_task t on t.id = s.task_id order by t.id`,
      );
      expect(rows).toEqual([
        expect.objectContaining({ state: 'skipped', error_message: 'no account for ada@example.com' }),
        expect.objectContaining({ state: 'retrying', error_message: 'role editor is unknown' }),
        expect.objectContaining({
          state: 'retrying',
          error_message: expect.stringContaining('ECONNREFUSED'),
        }),
      ]);
    });
  });

  it('without onThrow a throw is an Error, which holds the connector’s later tasks', async () => {
    const order: string[] = [];
    @Connector('ThrowingConnector')
    class ThrowingConnector extends BaseIntegrationConnector {
      @Subscribe({ entity: User })
      user(task: OutgoingTask<User>) {
        order.push(task.object.userName);
        throw new Error('service down');
      }
    }
    await withBusApp({ providers: [ThrowingConnector], bus: MANUAL }, async (t) => {
      await createUsersAndRoles(t);
      const counts = await t.bus.processOutgoingTasks('ThrowingConnector');
      expect(order).toEqual(['ada']);
      expect(counts).toMatchObject({ [R.Error]: 1 });
    });
  });

  it('rejects a subscription entity that is not an integration object, or disagrees with objectType', () => {
    class Plain {}
    expect(() => Subscribe({ entity: Plain })).toThrow(
      /must be a class marked with @IntegrationObject\(\); Plain is not/,
    );
    expect(() => Subscribe({ entity: Page })).toThrow(/@IntegrationObject/);
    expect(() => Subscribe({ entity: User, objectType: 'cms.role' })).toThrow(
      /both entity User \(cms\.user\) and objectType 'cms\.role'/,
    );
    expect(() => {
      @Connector('BadThrow', { onThrow: R.SkipNow as unknown as typeof R.Error })
      class BadThrow extends BaseIntegrationConnector {}
      return BadThrow;
    }).toThrow(InvalidConnectorError);
  });

  it('the helpers build the outcomes a handler may return', () => {
    expect(skipNow()).toEqual({ result: R.SkipNow });
    expect(skipNow('later')).toEqual({ result: R.SkipNow, errorMessage: 'later' });
    expect(errorAndSkip('refused')).toEqual({ result: R.ErrorAndSkip, errorMessage: 'refused' });
  });
});
