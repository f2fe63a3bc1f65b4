import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IntegrationEvents, InvalidExternalTaskError, TaskType } from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { NOTIFY_TOKEN } from '../management/management-app.js';
import { useIncomingHttpApp } from './incoming-http-app.js';

// R-DEL-2: the bus's own intake drops an older sequence per object.

const { t, http } = useIncomingHttpApp();

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_idempotency_key`);
  await t.sql(`delete from integration_intake_sequence`);
  await t.sql(`delete from t_user`);
});

/** Logs version `sequence` of the object `key` (its login says which), as `processExternalTask` does. */
const logVersion = (key: string, sequence: number, connectorName = 'Crm', idempotencyKey?: string) =>
  t.bus.processExternalTask(
    connectorName,
    { login: `${key}-v${sequence}` },
    { taskType: TaskType.UpdateObject, sequence, sequenceKey: key, idempotencyKey },
  );

/** The logins of the incoming tasks, oldest task first. */
async function loggedLogins(): Promise<string[]> {
  const rows = await t.sql<{ login: string }>(
    `select data->'fields'->>'userName' as login from integration_task where is_inbound order by id`,
  );
  return rows.map((r) => r.login);
}

/** The highest sequence stored per key (all connectors). */
async function storedSequences(): Promise<Record<string, number>> {
  const rows = await t.sql<{ sequence_key: string; sequence: number }>(
    `select sequence_key, sequence::int as sequence from integration_intake_sequence order by sequence_key`,
  );
  return Object.fromEntries(rows.map((r) => [r.sequence_key, r.sequence]));
}

/** `processExternalTask` with sequence options of any type, as an untyped caller might pass. */
const logWith = (options: { sequence?: unknown; sequenceKey?: unknown }) =>
  t.bus.processExternalTask('Crm', { login: 'ada' }, {
    taskType: TaskType.CreateObject,
    ...options,
  } as Parameters<typeof t.bus.processExternalTask>[2]);

/**
 * Holds every LogExternalTask.Before listener call until `count` calls wait: the callers have all
 * prepared their object, so they reach the intake's transaction together.
 */
async function allAtOnce<T>(count: number, run: () => Promise<T>): Promise<T> {
  const emitter = t.app.get(EventEmitter2);
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const listener = async () => {
    if (++arrived === count) release();
    await gate;
  };
  emitter.on(IntegrationEvents.LogExternalTask.Before, listener);
  try {
    return await run();
  } finally {
    emitter.off(IntegrationEvents.LogExternalTask.Before, listener);
    expect(arrived).toBe(count);
  }
}

describe('processExternalTask(…, { sequence, sequenceKey }) drops an older version (R-DEL-2)', () => {
  it('logs 1, 3, 2, 3, 4 of one object as tasks for 1, 3 and 4 only; the others return null', async () => {
    const debug = vi.spyOn(Logger.prototype, 'debug');
    const answers = [];
    let lines: string[];
    try {
      for (const sequence of [1, 3, 2, 3, 4]) answers.push(await logVersion('person-1', sequence));
    } finally {
      lines = debug.mock.calls.map(([line]) => String(line));
      debug.mockRestore();
    }
    expect(answers.map((task) => task !== null)).toEqual([true, true, false, false, true]);
    expect(await loggedLogins()).toEqual(['person-1-v1', 'person-1-v3', 'person-1-v4']);
    expect(await storedSequences()).toEqual({ 'person-1': 4 });
    // Each drop is written to the log at debug level.
    const drops = lines.filter((line) => line.includes('dropped'));
    expect(drops).toEqual([
      expect.stringContaining('Incoming task for Crm dropped: sequence 2 of "person-1"'),
      expect.stringContaining('Incoming task for Crm dropped: sequence 3 of "person-1"'),
    ]);
  });

  it('compares within one key of one connector: other keys and other connectors are apart', async () => {
    expect(await logVersion('person-1', 5)).not.toBeNull();
    expect(await logVersion('person-2', 1)).not.toBeNull(); // another object: its own sequence
    expect(await logVersion('person-1', 2, 'Erp')).not.toBeNull(); // another connector
    expect(await logVersion('person-1', 4)).toBeNull();
    expect(await loggedLogins()).toEqual(['person-1-v5', 'person-2-v1', 'person-1-v2']);
  });

  it('of two versions of one object logged at the same time, never logs the older after the newer', async () => {
    const KEYS = 6;
    // Each key gets a lower and a higher version at once, in both argument orders across keys.
    const pairs = Array.from({ length: KEYS }, (_, i) => (i % 2 === 0 ? [10 + i, 20 + i] : [20 + i, 10 + i]));
    const answers = await allAtOnce(KEYS * 2, () =>
      Promise.all(pairs.flatMap((pair, i) => pair.map((sequence) => logVersion(`racer-${i}`, sequence)))),
    );
    const logins = await loggedLogins();
    let bothLogged = 0;
    for (const [i, pair] of pairs.entries()) {
      const [low, high] = [Math.min(...pair), Math.max(...pair)];
      const versions = logins
        .filter((login) => login.startsWith(`racer-${i}-v`))
        .map((login) => Number(login.slice(`racer-${i}-v`.length)));
      // The newer is always logged; the older only if it committed first, and then before it.
      expect([[high], [low, high]]).toContainEqual(versions);
      if (versions.length === 2) bothLogged += 1;
    }
    expect(answers.filter((task) => task !== null)).toHaveLength(KEYS + bothLogged);
    expect(await storedSequences()).toEqual(
      Object.fromEntries(pairs.map((pair, i) => [`racer-${i}`, Math.max(...pair)])),
    );
    console.log(`[sequence] ${KEYS} objects, two versions each at once: ${bothLogged} logged both in order`);
  });

  it('answers a repeated idempotency key with its task first; a dropped call does not use its key up', async () => {
    const first = await logVersion('person-1', 3, 'Crm', 'change-3');
    expect(await logVersion('person-1', 3, 'Crm', 'change-3')).toEqual(first);
    expect(await logVersion('person-1', 2, 'Crm', 'change-2')).toBeNull();
    expect(await t.sql(`select key from integration_idempotency_key order by key`)).toEqual([
      { key: 'change-3' },
    ]);
    expect(await logVersion('person-1', 4, 'Crm', 'change-2')).not.toBeNull();
    expect(await loggedLogins()).toEqual(['person-1-v3', 'person-1-v4']);
  });

  it('rejects a bad sequence or key with InvalidExternalTaskError naming the field, logging nothing', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ sequence: -1, sequenceKey: 'k' }, /^sequence must be a non-negative integer/],
      [{ sequence: 1.5, sequenceKey: 'k' }, /^sequence must be a non-negative integer/],
      [{ sequence: Number.NaN, sequenceKey: 'k' }, /^sequence must be a non-negative integer/],
      [{ sequence: 2 ** 53, sequenceKey: 'k' }, /^sequence must be a non-negative integer/],
      [{ sequence: '3', sequenceKey: 'k' }, /^sequence must be a non-negative integer/],
      [{ sequence: 3 }, /^sequenceKey is required with sequence/],
      [{ sequenceKey: 'k' }, /^sequence is required with sequenceKey/],
      [{ sequence: 3, sequenceKey: '' }, /^sequenceKey must be 1 to 200 characters long/],
      [{ sequence: 3, sequenceKey: 'k'.repeat(201) }, /^sequenceKey must be 1 to 200 characters long/],
      [{ sequence: 3, sequenceKey: 42 }, /^sequenceKey must be a string/],
    ];
    for (const [options, message] of bad) {
      const error = await logWith(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidExternalTaskError);
      expect((error as Error).message).toMatch(message);
    }
    expect(await loggedLogins()).toEqual([]);
    expect(await logWith({ sequence: 0, sequenceKey: 'k'.repeat(200) })).not.toBeNull();
  });
});

/** An ingest request for user `login` with the headers given. */
const ingestWith = (login: string, headers: Record<string, string>) =>
  http('POST', '/connectors/Crm/incoming', {
    token: NOTIFY_TOKEN,
    body: { object: { login }, taskType: 'UPDATEOBJ' },
    headers,
  });

describe('POST /{path}/connectors/:codeName/incoming with Bus-Sequence and Bus-Object-Key headers (R-DEL-2)', () => {
  it('answers 201 for a newer version and 200 { taskId: null, reason: olderSequence } for an older one', async () => {
    const newer = await ingestWith('ada-v7', { 'Bus-Sequence': '7', 'Bus-Object-Key': '42' });
    expect(newer.status).toBe(201);
    const older = await ingestWith('ada-v6', { 'Bus-Sequence': '6', 'Bus-Object-Key': '42' });
    expect(older.status).toBe(200);
    expect(older.body).toEqual({
      taskId: null,
      reason: 'olderSequence',
      message: expect.stringMatching(/dropped, nothing was logged/),
    });
    // Bus-Object-Type makes the key `<type>:<key>`: another type's 42 is another object.
    const otherType = await ingestWith('role-v1', {
      'Bus-Sequence': '1',
      'Bus-Object-Key': '42',
      'Bus-Object-Type': 'cms.role',
    });
    expect(otherType.status).toBe(201);
    expect(await loggedLogins()).toEqual(['ada-v7', 'role-v1']);
    expect(await storedSequences()).toEqual({ '42': 7, 'cms.role:42': 1 });
    const [tasks] = await t.sql<{ n: number }>(
      `select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`,
    );
    expect(tasks!.n).toBe(2);
  });

  it('answers 400 naming the header for a bad sequence or one header without the other, and writes nothing', async () => {
    const bad: [Record<string, string>, string][] = [
      [{ 'Bus-Sequence': 'seven', 'Bus-Object-Key': '42' }, 'Bus-Sequence'],
      [{ 'Bus-Sequence': '-1', 'Bus-Object-Key': '42' }, 'Bus-Sequence'],
      [{ 'Bus-Sequence': '1e3', 'Bus-Object-Key': '42' }, 'Bus-Sequence'],
      [{ 'Bus-Sequence': '9007199254740993', 'Bus-Object-Key': '42' }, 'Bus-Sequence'],
      [{ 'Bus-Sequence': '7' }, 'Bus-Object-Key'],
      [{ 'Bus-Object-Key': '42' }, 'Bus-Sequence'],
    ];
    for (const [headers, field] of bad) {
      const res = await ingestWith('ada', headers);
      expect({ status: res.status, field: res.body.field }).toEqual({ status: 400, field });
    }
    expect(await loggedLogins()).toEqual([]);
    expect(await storedSequences()).toEqual({});
  });

  it('lists the headers in the OpenAPI document', async () => {
    const res = await http('GET', '/docs/openapi.json');
    const operation = res.body.paths['/integration/connectors/{codeName}/incoming'].post;
    const headers = (operation.parameters as { in: string; name: string }[])
      .filter((p) => p.in === 'header')
      .map((p) => p.name);
    expect(headers).toEqual(
      expect.arrayContaining(['Idempotency-Key', 'Bus-Sequence', 'Bus-Object-Key', 'Bus-Object-Type']),
    );
    expect(operation.responses['200'].content['application/json'].schema.properties.reason.enum).toContain(
      'olderSequence',
    );
  });
});
