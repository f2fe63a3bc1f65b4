import { expect } from 'vitest';
import {
  IntegrationProcessResult,
  type OutgoingTask,
  type ProcessOutcome,
  type RelayEnvelope,
} from 'nestjs-integration-bus';
import type { BusTestApp } from '../../support/bus-app.js';
import { User } from '../../support/entities.js';
import { eventually } from '../../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

/** One call of a relay connector as the test saw it. */
export interface RelayAttempt {
  guid: string;
  /** The bus's attempt counter of the task (1 on the first call). */
  attempt: number;
  /** The task's id and its `sequence` (R-DEL-2), as the relay received them. */
  id: number;
  sequence: number;
  result: IntegrationProcessResult;
  errorMessage?: string;
}

/** The result of an outcome, whichever form it has. */
export function resultOf(outcome: ProcessOutcome): {
  result: IntegrationProcessResult;
  errorMessage?: string;
} {
  return typeof outcome === 'string' ? { result: outcome } : outcome;
}

/**
 * Makes changes to `users` users, round after round: round 0 creates them (email `u<i>-v0`),
 * each further round updates every user's email to `u<i>-v<round>`, one flush per round. Every
 * change is a task for the relay subscribed to `cms.user`.
 */
export async function changeUsers(t: BusTestApp, users: number, round: number): Promise<void> {
  const em = t.em();
  if (round === 0) {
    for (let i = 0; i < users; i++) em.create(User, { userName: `relay-user-${i}`, email: `u${i}-v0` });
  } else {
    const all = await em.find(User, {}, { orderBy: { id: 'asc' } });
    for (const [i, user] of all.entries()) user.email = `u${i}-v${round}`;
  }
  await em.flush();
}

/** Waits until no synchronization of any connector is left. */
export async function drained(t: BusTestApp, timeoutMs: number): Promise<void> {
  await eventually(async () => {
    const [row] = await t.sql<{ n: number }>(`select count(*)::int as n from ${ALL_SYNCHRONIZATIONS_SQL} s`);
    expect(row!.n).toBe(0);
  }, timeoutMs);
}

/**
 * Checks the relayed envelopes against the changes made: each task once, and each object's
 * versions in the order they were made (v0, v1, …).
 */
export function expectEachChangeOnceInOrder(
  envelopes: readonly RelayEnvelope[],
  users: number,
  rounds: number,
): void {
  expect(envelopes).toHaveLength(users * rounds);
  expect(new Set(envelopes.map((e) => e.taskGuid)).size).toBe(users * rounds);
  const versions = new Map<string, number[]>();
  for (const envelope of envelopes) {
    expect(envelope).toMatchObject({ v: 1, objectType: 'cms.user', dataType: 'SIMPLE' });
    // The user's primary key and `userName` (its code name), whether read from the stored fields or
    // from the rebuilt entity.
    expect(envelope.objectKey).toBe(String(envelope.data.id));
    expect(envelope.codeName).toBe(envelope.data.userName);
    const version = Number(/-v(\d+)$/.exec(String(envelope.data.email))![1]);
    const list = versions.get(envelope.objectKey!) ?? [];
    list.push(version);
    versions.set(envelope.objectKey!, list);
  }
  expect(versions.size).toBe(users);
  const inOrder = Array.from({ length: rounds }, (_, i) => i);
  for (const list of versions.values()) expect(list).toEqual(inOrder);
}

/** Records the outcome of `relay` for a task. */
export function recordAttempt(attempts: RelayAttempt[], task: OutgoingTask, outcome: ProcessOutcome): void {
  attempts.push({
    guid: task.guid,
    attempt: task.attempt,
    id: task.id,
    sequence: task.sequence,
    ...resultOf(outcome),
  });
}

/** A relayed message as the checks of `task.sequence` read it. */
export interface SequencedMessage {
  envelope: RelayEnvelope;
  /** Its `Bus-Sequence` header, as text. */
  sequenceHeader: string | undefined;
  /** Its `Bus-Object-Type` header. */
  objectTypeHeader: string | undefined;
}

/**
 * Checks the sequence each message carries (R-DEL-2): the `Bus-Sequence` header and the envelope's
 * `sequence` are the `sequence` (today the id) of the task the relay was handed, and one object's
 * messages carry growing sequences in the order they were published.
 */
export function expectSequencesOfTasks(
  messages: readonly SequencedMessage[],
  attempts: readonly RelayAttempt[],
): void {
  const taskOf = new Map(attempts.map((a) => [a.guid, a]));
  const lastOf = new Map<string, number>();
  for (const { envelope, sequenceHeader, objectTypeHeader } of messages) {
    const task = taskOf.get(envelope.taskGuid)!;
    expect(task.sequence).toBe(task.id);
    expect(envelope.sequence).toBe(task.sequence);
    expect(sequenceHeader).toBe(String(task.sequence));
    expect(objectTypeHeader).toBe(envelope.objectType);
    const last = lastOf.get(envelope.objectKey!) ?? 0;
    expect(envelope.sequence).toBeGreaterThan(last);
    lastOf.set(envelope.objectKey!, envelope.sequence!);
  }
}

/** What `relayThroughOutage` measured. */
export interface OutageFigures {
  /** From the broker's loss to its return, in milliseconds. */
  downForMs: number;
  /** From the broker's return to an empty queue, in milliseconds. */
  drainMs: number;
}

/**
 * Makes `rounds` rounds of changes to `users` users while the relay runs into an outage: the broker
 * is taken away (`breakBroker`) once the relay is under way, the remaining rounds are made, and it
 * is brought back (`repairBroker`) once the relay has failed against it a few times and a second
 * has passed; then waits until the queue is empty.
 */
export async function relayThroughOutage(
  t: BusTestApp,
  attempts: readonly RelayAttempt[],
  plan: {
    users: number;
    rounds: number;
    breakBroker: () => Promise<void>;
    repairBroker: () => Promise<void>;
  },
): Promise<OutageFigures> {
  await changeUsers(t, plan.users, 0);
  await expect.poll(() => attempts.length, { timeout: 15_000, interval: 10 }).toBeGreaterThan(10);
  const brokenAt = Date.now();
  await plan.breakBroker();
  for (let round = 1; round < plan.rounds; round++) await changeUsers(t, plan.users, round);
  await expect
    .poll(() => attempts.filter((a) => a.result === IntegrationProcessResult.Error).length, {
      timeout: 15_000,
      interval: 20,
    })
    .toBeGreaterThan(2);
  await new Promise((r) => setTimeout(r, 1000));
  await plan.repairBroker();
  const backAt = Date.now();
  await drained(t, 30_000);
  return { downForMs: backAt - brokenAt, drainMs: Date.now() - backAt };
}

/** The failed attempts, after checking that there were some and that the bus counted them. */
export function expectRetried(attempts: readonly RelayAttempt[]): { errors: number; highestAttempt: number } {
  const errors = attempts.filter((a) => a.result === IntegrationProcessResult.Error);
  expect(errors.length).toBeGreaterThan(0);
  const highestAttempt = Math.max(...attempts.map((a) => a.attempt));
  expect(highestAttempt).toBeGreaterThan(1);
  return { errors: errors.length, highestAttempt };
}
