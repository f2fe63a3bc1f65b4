import type { Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskProcessType,
  type ConnectorOptions,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchUser } from './bench-user.entity.js';

/** `@Connector` options of the bench's connectors, and how long each call takes (none: answers at once). */
export interface ConnectorBehaviour extends ConnectorOptions {
  callMs?: number;
}

/** Called on every connector call; the latency scenario stamps the time here. */
export type CallListener = (connector: string, task: OutgoingTask<BenchUser>) => void;

/**
 * A connector that does nothing and answers OK: what the bus costs per task, with no work of the
 * connector's own; with `readObject`, it reads one field of the task's entity first (the bus
 * builds that entity only when read). Subscribed at class level, so tasks go to
 * `processInternalTaskAsync` (handler `null` in `integration_synchronization`, as the seeded rows
 * have).
 */
export function noopConnector(
  codeName: string,
  onCall?: CallListener,
  readObject = false,
  behaviour: ConnectorBehaviour = {},
): Type<BaseIntegrationConnector> {
  const { callMs, ...options } = behaviour;
  @Connector(codeName, options)
  @Subscribe({ objectType: 'bench.user', processType: TaskProcessType.AsyncSimple })
  class NoopConnector extends BaseIntegrationConnector {
    override processInternalTaskAsync(
      task: OutgoingTask<BenchUser>,
    ): IntegrationProcessResult | Promise<IntegrationProcessResult> {
      onCall?.(codeName, task);
      // A real connector reads the entity it is sent; the bus may build it only when read.
      if (readObject && typeof task.object.userName !== 'string') return IntegrationProcessResult.Error;
      // An external call that takes `callMs` (I/O: the process is free meanwhile).
      if (callMs) return sleep(callMs).then(() => IntegrationProcessResult.OK);
      return IntegrationProcessResult.OK;
    }
  }
  Object.defineProperty(NoopConnector, 'name', { value: `${codeName}Connector` });
  return NoopConnector;
}

/** Code names of the bench's connectors: `Noop1` … `NoopN`. */
export function connectorNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `Noop${i + 1}`);
}
