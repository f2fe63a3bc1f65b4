import { expect } from 'vitest';
import { Logger } from '@nestjs/common';
import type { BrokerMessage } from 'nestjs-integration-bus';
import type { BusTestApp } from '../support/bus-app.js';
import { eventually } from '../support/recording-connector.js';

/**
 * What a test consumer's `afterTaskLogged` does: records each message id it sees, in order, and
 * "loses" the ack of the ids in `loseAckOnce`, once each (the task committed, the ack never left,
 * as after a crash or a cut between commit and ack): the broker delivers the message again.
 */
export class AckLoss {
  readonly seen: string[] = [];
  readonly loseAckOnce = new Set<string>();

  afterTaskLogged(message: BrokerMessage): void {
    this.seen.push(message.messageId!);
    if (this.loseAckOnce.delete(message.messageId!)) throw new Error('ack lost (simulated)');
  }
}

/** The user names of the incoming tasks logged, oldest task first. */
export async function loggedLogins(t: BusTestApp): Promise<string[]> {
  const rows = await t.sql<{ login: string }>(
    `select data->'fields'->>'userName' as login from integration_task where is_inbound order by id`,
  );
  return rows.map((r) => r.login);
}

/** The event log's poison-message entries. */
export async function poisonEntries(t: BusTestApp): Promise<{ message: string; connector_name: string }[]> {
  return t.sql(
    `select message, connector_name from integration_event_log where event_code = 'POISONMESSAGE' order by id`,
  );
}

/**
 * The poison entries once there are `count` of them: a poison message is written down as its batch
 * is settled, after the batch's tasks were committed, so seeing the good messages logged says
 * nothing yet of the poison before them.
 */
export async function poisonEntriesOnce(
  t: BusTestApp,
  count: number,
): Promise<{ message: string; connector_name: string }[]> {
  let entries: { message: string; connector_name: string }[] = [];
  await eventually(async () => {
    entries = await poisonEntries(t);
    expect(entries).toHaveLength(count);
  }, 10_000);
  return entries;
}

/** Applies the logged tasks and checks the users exist once each. */
export async function expectUsersApplied(t: BusTestApp, logins: readonly string[]): Promise<void> {
  await t.bus.processIncomingTasks('Crm');
  const rows = await t.sql<{ user_name: string }>(`select user_name from t_user order by user_name`);
  expect(rows.map((r) => r.user_name)).toEqual([...logins].sort());
}

/** A valid incoming-task body for user `login`. */
export const personBody = (login: string) => JSON.stringify({ object: { login }, taskType: 'CREATEOBJ' });

/** The poison bodies every consumer test sends: not JSON, a bad task type, an object the connector refuses. */
export const POISON_BODIES = [
  'not json {',
  JSON.stringify({ object: { login: 'x' }, taskType: 'EXPLODE' }),
  JSON.stringify({ object: { mail: 'no-login@crm' }, taskType: 'CREATEOBJ' }),
] as const;

/** What each poison body's event-log entry says. */
export const POISON_REASONS = [
  /the body is not JSON/,
  /taskType must be one of/,
  /login is required/,
] as const;

/** A Nest `Logger` that keeps what a consumer writes, level by level, to check its log lines. */
export class RecordingLogger extends Logger {
  readonly lines: { level: 'debug' | 'warn' | 'error'; message: string }[] = [];

  override debug(message: unknown): void {
    this.lines.push({ level: 'debug', message: String(message) });
  }

  override warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }

  override error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }

  /** The messages written at `level`. */
  at(level: 'debug' | 'warn' | 'error'): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }
}
