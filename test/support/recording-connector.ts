import type { Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  type ConnectorOptions,
  type OutgoingTask,
  type ProcessOutcome,
  type SubscriptionInput,
} from 'nestjs-integration-bus';

/** One call a recording connector received. */
export interface RecordedCall {
  connector: string;
  mode: 'async' | 'sync';
  task: OutgoingTask;
}

/** What a recording connector answers; tests swap `respond`. */
export interface ResponseControl {
  respond: (task: OutgoingTask) => ProcessOutcome | Promise<ProcessOutcome>;
}

/** A log shared by several recording connectors, in call order. */
export type CallLog = RecordedCall[];

/**
 * Defines a connector class that subscribes imperatively, records every call into `log`, and
 * answers with whatever `respond` returns (OK by default).
 */
export function recordingConnector(
  codeName: string,
  subscriptions: SubscriptionInput[],
  log: CallLog,
  options?: ConnectorOptions,
): { provider: Type<BaseIntegrationConnector>; control: ResponseControl } {
  const control: ResponseControl = { respond: () => IntegrationProcessResult.OK };

  @Connector(codeName, options)
  class RecordingConnector extends BaseIntegrationConnector {
    override onConnectorInit(): void {
      for (const subscription of subscriptions) this.subscribeTo(subscription);
    }

    override processInternalTaskAsync(task: OutgoingTask) {
      log.push({ connector: codeName, mode: 'async', task });
      return control.respond(task);
    }

    override processInternalTaskSync(task: OutgoingTask) {
      log.push({ connector: codeName, mode: 'sync', task });
      return control.respond(task);
    }
  }
  Object.defineProperty(RecordingConnector, 'name', { value: `${codeName}Connector` });
  return { provider: RecordingConnector, control };
}

/** Waits until `check` passes or `timeoutMs` runs out. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
