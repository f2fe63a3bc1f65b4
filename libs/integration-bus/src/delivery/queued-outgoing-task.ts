import type { EntityManager, EntityMetadata } from '@mikro-orm/core';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { isDocumentTaskType, type TaskType } from '../enums/task-type.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import type { ProcessingClaim } from './processing-claim.js';
import { describeError } from '../events/integration-event-publisher.js';
import { parseTaskPayload, type QueuedSynchronization } from '../persistence/queue.store.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import { rebuildTaskObject } from '../translation/task-object.js';
import { TranslationHelper } from '../translation/translation-helper.js';
import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';

/**
 * A queued task as a connector receives it. The payload is parsed, and the entity rebuilt, only
 * when the connector first reads `object` or `translations`: on the drain's hot path these were
 * the largest share of CPU time and garbage per task (profiled), and a connector that routes on
 * the task's type or forwards its id never needs them. The accessors live on the prototype, so a
 * task costs one small object.
 */
export class QueuedOutgoingTask implements OutgoingTask {
  readonly id: number;
  readonly sequence: number;
  readonly guid: string;
  readonly title: string;
  readonly taskType: TaskType;
  readonly dataType: TaskDataType;
  readonly objectType: string;
  readonly siteName: string | null;
  readonly attempt: number;
  readonly #row: QueuedSynchronization;
  readonly #factory: EntityManager;
  readonly #claim: ProcessingClaim;
  readonly #connectorName: string;
  #payload: TaskPayload | undefined;
  #object: object | undefined;
  #objectAsked = false;
  #translations: TranslationHelper | undefined;
  #abort: AbortController | undefined;

  /**
   * @param factory the fork that builds detached entities (`merge: false`, never flushed)
   * @param claim the run's claim on the queue, which `fence()` checks
   */
  constructor(
    row: QueuedSynchronization,
    factory: EntityManager,
    claim: ProcessingClaim,
    connectorName: string,
  ) {
    this.#row = row;
    this.#factory = factory;
    this.#claim = claim;
    this.#connectorName = connectorName;
    this.id = Number(row.taskId);
    // One object's changes take their ids under its row lock (or its advisory lock, for
    // `logInternalTask`) after the change is written, so the id grows with the object's commit order.
    this.sequence = this.id;
    this.guid = row.guid;
    this.title = row.title;
    this.taskType = row.taskType;
    this.dataType = row.dataType ?? TaskDataType.Simple;
    this.objectType = row.objectType;
    this.siteName = row.siteName;
    this.attempt = row.attempts + 1;
  }

  get time(): Date {
    return new Date(this.#row.createdAtMs);
  }

  get traceParent(): string | null {
    return this.#row.traceParent;
  }

  get isDocument(): boolean {
    return isDocumentTaskType(this.taskType);
  }

  get object(): object {
    this.#objectAsked = true;
    return this.#built();
  }

  /** Whether the connector read `object`: the drain then builds the next call's ahead (`prepareObject`). */
  get objectAsked(): boolean {
    return this.#objectAsked;
  }

  /**
   * Builds `object` now, while the drain waits for the previous call anyway, so that the connector
   * finds it built. A payload that cannot be rebuilt is left for the connector to meet when it reads
   * `object`, as if nothing had been built ahead.
   */
  prepareObject(): void {
    try {
      this.#built();
    } catch {
      // Thrown again, with the same message, when the connector reads `object`.
    }
  }

  #built(): object {
    if (this.#object === undefined) {
      try {
        this.#object = rebuildTaskObject(this.#factory, this.payload);
      } catch (error) {
        throw new IntegrationBusError(`Cannot rebuild the task's object: ${describeError(error)}`, {
          cause: error,
        });
      }
    }
    return this.#object;
  }

  get signal(): AbortSignal {
    this.#abort ??= new AbortController();
    return this.#abort.signal;
  }

  /** Tells the connector, through `signal`, that the bus no longer waits for this call. */
  abort(reason: string): void {
    this.#abort ??= new AbortController();
    this.#abort.abort(new Error(reason));
  }

  fence(): void {
    // The bus gave up on this call first (a timeout): that is the reason to give, even if the run
    // has ended since.
    const given = this.#abort?.signal;
    if (given?.aborted) {
      const reason = given.reason instanceof Error ? given.reason.message : 'the call was abandoned';
      throw new ClaimLostError(this.#connectorName, `the bus stopped waiting for this call: ${reason}`);
    }
    // `lostReason` reads the monotonic clock: a process that was paused past its lease finds out here.
    const lost = this.#claim.lostReason;
    if (lost !== null) {
      this.abort(lost);
      throw new ClaimLostError(this.#connectorName, lost);
    }
  }

  get translations(): TranslationHelper {
    this.#translations ??= new TranslationHelper(this.payload.translations ?? []);
    return this.#translations;
  }

  /**
   * The payload as stored, parsed, without rebuilding the entity: for the bus's own readers that only
   * need its fields (a relay's envelope). Not for connectors, which read `object`.
   */
  get storedPayload(): TaskPayload {
    return this.payload;
  }

  /** The MikroORM metadata of the stored payload's entity; undefined for a plain object. */
  get storedEntityMeta(): EntityMetadata | undefined {
    const { entity } = this.payload;
    return entity ? this.#factory.getMetadata().getByClassName(entity, false) : undefined;
  }

  private get payload(): TaskPayload {
    this.#payload ??= parseTaskPayload(this.#row);
    return this.#payload;
  }
}
