import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectorRegistry } from '../../connectors/connector-registry.js';
import { ConnectorDisabledError } from '../../errors/connector-disabled.error.js';
import { ProcessingDisabledError } from '../../errors/processing-disabled.error.js';
import { describeError } from '../../events/integration-event-publisher.js';
import {
  ExternalTaskLogger,
  type ExternalTaskOptions,
  type ExternalTaskSkipReason,
} from '../../incoming/external-task-logger.js';
import { IntegrationBus } from '../../integration-bus.service.js';
import { SettingsService } from '../../settings/settings.service.js';

/** The answer of `POST /{path}/notify`: processing has been started in the background. */
export interface NotifyAccepted {
  accepted: true;
  /** The connector whose incoming tasks are processed, or `null` for every enabled connector. */
  connectorName: string | null;
}

/**
 * The answer of `POST /{path}/connectors/:codeName/incoming` when a task was logged (201), or had
 * already been logged with the request's `Idempotency-Key` (200, `duplicate: true`).
 */
export interface IncomingTaskLogged {
  taskId: number;
  /** The `Idempotency-Key` had already logged this task: nothing new was logged. */
  duplicate?: true;
}

/** The answer of `POST /{path}/connectors/:codeName/incoming` when nothing was logged (200). */
export interface IncomingTaskNotLogged {
  taskId: null;
  reason: ExternalTaskSkipReason;
  message: string;
}

const SKIP_MESSAGES: Record<ExternalTaskSkipReason, string> = {
  loggingOff:
    'Logging of incoming tasks is switched off (settings enabled / logIncoming): nothing was logged.',
  notPrepared: "The connector's prepareInternalObject() returned null for this object: nothing was logged.",
  cancelled: 'A LogExternalTask.Before listener cancelled the task: nothing was logged.',
  olderSequence:
    'A version of this object with a sequence at least as high (Bus-Sequence for this Bus-Object-Key) was ' +
    'logged before: this older one was dropped, nothing was logged.',
};

/**
 * The two HTTP ways of the incoming direction: `notify` (R-IN-5) checks what it can answer for at
 * once and starts processing without waiting for it; `incoming` (R-IN-6) logs one external object
 * through `processExternalTask`. Runs started by `notify` are tracked, so that closing the app
 * waits for them instead of cutting them off or leaving them to fail on a closed pool.
 */
@Injectable()
export class IncomingIntakeService implements OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly bus: IntegrationBus,
    private readonly registry: ConnectorRegistry,
    private readonly settings: SettingsService,
    private readonly externalLogger: ExternalTaskLogger,
  ) {}

  /**
   * Starts processing the incoming tasks of one connector, or of every enabled connector, and
   * returns before it is done; failures of the run are logged.
   * @throws ConnectorNotFoundError for a connector no provider is loaded for;
   *   ConnectorDisabledError for a disabled one; ProcessingDisabledError while incoming processing
   *   is switched off — all before anything starts
   */
  async notify(connectorName?: string): Promise<NotifyAccepted> {
    if (connectorName !== undefined) {
      this.registry.get(connectorName);
      if (!(await this.registry.row(connectorName))?.enabled) throw new ConnectorDisabledError(connectorName);
    }
    if (!(await this.settings.effective()).processIncoming) {
      throw new ProcessingDisabledError(
        'Processing of incoming tasks is switched off (settings enabled / processIncoming): the tasks stay queued.',
      );
    }
    const run = this.bus.processIncomingTasks(connectorName).then(
      () => undefined,
      (error: unknown) => {
        this.#logger.error(
          `Incoming processing requested through notify${connectorName ? ` for ${connectorName}` : ''} failed: ${describeError(error)}`,
        );
      },
    );
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
    return { accepted: true, connectorName: connectorName ?? null };
  }

  /**
   * Logs one external object for a connector (R-IN-1).
   * @throws ConnectorNotFoundError, ConnectorDisabledError, and what the connector's
   *   `prepareInternalObject` throws (`ExternalObjectError` when it rejects the object)
   */
  async ingest(
    connectorName: string,
    obj: unknown,
    options: ExternalTaskOptions,
  ): Promise<IncomingTaskLogged | IncomingTaskNotLogged> {
    const outcome = await this.externalLogger.logWithOutcome(connectorName, obj, options);
    if (outcome.task)
      return outcome.duplicate ? { taskId: outcome.task.id, duplicate: true } : { taskId: outcome.task.id };
    return { taskId: null, reason: outcome.reason, message: SKIP_MESSAGES[outcome.reason] };
  }

  /** Waits for the runs `notify` started, before MikroORM closes its pool. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.#running);
  }
}
