import { Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { busChannel } from './bus-channels.js';
import type { IntegrationEventName } from './integration-events.js';
import type { IntegrationTaskEvent } from './integration-task-event.js';

/**
 * Emits the bus's events through `@nestjs/event-emitter` when the host imports `EventEmitterModule`,
 * and publishes them on `node:diagnostics_channel` (`bus-channels.ts`) while someone subscribes.
 * Before events are awaited and may cancel; a failing After listener is logged and never fails or
 * loses the task it reports on.
 */
@Injectable()
export class IntegrationEventPublisher {
  readonly #logger = new Logger('IntegrationBus');

  constructor(@Optional() private readonly emitter?: EventEmitter2) {}

  /** Whether anyone listens: lets hot paths skip building payloads. */
  has(name: IntegrationEventName): boolean {
    return this.listened(name) || busChannel(name).hasSubscribers;
  }

  /** Emits a Before event and awaits its listeners; `false` when one of them cancelled. */
  async before(name: IntegrationEventName, event: IntegrationTaskEvent): Promise<boolean> {
    this.publish(name, event);
    if (!this.listened(name)) return true;
    await this.emitter!.emitAsync(name, event);
    return !event.cancelled;
  }

  /** Emits an After event and awaits its listeners, logging (not throwing) their failures. */
  async after(name: IntegrationEventName, event: IntegrationTaskEvent): Promise<void> {
    this.publish(name, event);
    if (!this.listened(name)) return;
    try {
      await this.emitter!.emitAsync(name, event);
    } catch (error) {
      this.#logger.error(`A listener of ${name} failed for task ${event.task.id}: ${describeError(error)}`);
    }
  }

  private listened(name: IntegrationEventName): boolean {
    return (this.emitter?.listenerCount(name) ?? 0) > 0;
  }

  private publish(name: IntegrationEventName, event: IntegrationTaskEvent): void {
    const target = busChannel(name);
    if (!target.hasSubscribers) return;
    try {
      target.publish(event);
    } catch (error) {
      this.#logger.error(`A diagnostics_channel subscriber of ${name} failed: ${describeError(error)}`);
    }
  }
}

/** The message of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}
