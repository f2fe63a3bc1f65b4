import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  IntegrationBus,
  IntegrationEvents,
  IntegrationTaskEvent,
  TaskNotFoundError,
} from 'nestjs-integration-bus';
import { DEMO_SETTINGS, type DemoSettings } from '../demo-options.js';

/** The connector whose tasks are synchronized at once. */
const CONNECTOR = 'SampleIntegrationConnector';

/**
 * The "automatically synchronizing integration tasks" recipe of reference 004, the NestJS way: a
 * listener of `IntegrationEvents.LogInternalTask.After`, which the bus emits once per task after
 * the transaction that logged it has committed, synchronizes the task for `SampleIntegrationConnector`
 * right away through `IntegrationBus.synchronizeTask`.
 *
 * Off unless `DEMO_AUTO_SYNC=1` (or `createDemoApp({ autoSync: true })`). The bus already starts
 * processing when a unit of work commits (`outgoing.processAfterCommit`), so this matters mostly
 * when that is off; with both on, whichever comes first processes the task and the other finds it
 * gone (`TaskNotFoundError`, ignored).
 *
 * Two choices differ from the original, on purpose:
 * - The listener does not await the synchronization: the bus awaits After listeners before the
 *   flush returns, and the request that made the change should not wait for the other system.
 * - Synchronizations run one after another in the order the tasks were logged, so that the
 *   connector still sees a user's creation before its update.
 * Like the original, it synchronizes the new task even when older ones of the connector are
 * still queued (failed, or waiting for an administrator).
 */
@Injectable()
export class AutoSynchronizer implements BeforeApplicationShutdown {
  readonly #logger = new Logger('AutoSynchronizer');
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly bus: IntegrationBus,
    @Inject(DEMO_SETTINGS) private readonly settings: DemoSettings,
  ) {}

  @OnEvent(IntegrationEvents.LogInternalTask.After)
  onTaskLogged(event: IntegrationTaskEvent): void {
    if (!this.settings.autoSync || !event.task.connectorNames.includes(CONNECTOR)) return;
    const taskId = event.task.id;
    this.#queue = this.#queue.then(() => this.synchronize(taskId));
  }

  /** Lets the synchronizations under way finish before the bus and MikroORM shut down. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.#queue;
  }

  private async synchronize(taskId: number): Promise<void> {
    try {
      await this.bus.synchronizeTask(taskId, CONNECTOR);
    } catch (error) {
      if (error instanceof TaskNotFoundError) return; // already processed by the bus's own run
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.error(`Could not synchronize task ${taskId} for ${CONNECTOR}: ${message}`);
    }
  }
}
