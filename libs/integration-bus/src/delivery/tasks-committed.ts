import { Injectable } from '@nestjs/common';
import type { ConnectorMatch } from '../connectors/connector-registry.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';

/** A committed change to hand to its synchronous connectors (R-OUT-5). */
export interface SyncDelivery {
  subject: IntegrationSubject;
  taskType: TaskType;
  matches: ConnectorMatch[];
}

/** What one logging transaction committed. */
export interface CommittedTasks {
  /** The connectors that have new tasks in their queue (R-OUT-8 a). */
  connectorIds: ReadonlySet<number>;
  /** The changes for synchronous connectors, in change order; nothing of them is stored. */
  syncDeliveries: readonly SyncDelivery[];
}

/** A subscriber of `TasksCommitted`; the next one runs once the promise it returns settles. */
export type TasksCommittedListener = (committed: CommittedTasks) => void | Promise<void>;

/**
 * The in-process signal that tasks were committed, published by the `ChangeLogger` once a logging
 * transaction commits (after the LogInternalTask.After events). The sync dispatcher and the outgoing
 * processor subscribe to it, so logging imports neither.
 *
 * Listeners run one after another, in the order they subscribed, each awaited: `publish` resolves
 * when the last one has, and rejects with the first error (the listeners after it do not run). The
 * change's caller therefore waits for its synchronous connectors (R-OUT-5) and sees their failures,
 * as it did when logging called them itself. The sync dispatcher subscribes when it is constructed,
 * before any `onModuleInit`: its deliveries come before the processors' nudge.
 */
@Injectable()
export class TasksCommitted {
  #listeners: readonly TasksCommittedListener[] = [];

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: TasksCommittedListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners = this.#listeners.toSpliced(index, 1);
    };
  }

  async publish(committed: CommittedTasks): Promise<void> {
    // A listener that subscribes or unsubscribes meanwhile changes the next publish, not this one.
    for (const listener of this.#listeners) await listener(committed);
  }
}
