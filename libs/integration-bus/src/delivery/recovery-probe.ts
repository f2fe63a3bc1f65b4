import { Injectable, Logger } from '@nestjs/common';
import { describeError } from '../events/integration-event-publisher.js';
import { FlowControlStore, type ProbeSlot } from '../persistence/flow-control.store.js';
import { guardCall } from './call-guard.js';
import type { ProcessingTarget } from './drainer.js';

/**
 * The slot is taken a little short of the interval, so that the instance that took the last one,
 * whose timer never fires early, finds it free again rather than a tick later.
 */
const SLOT_SHARE = 0.9;

/** One connector being probed by this instance. */
interface Watch {
  timer: NodeJS.Timeout | undefined;
  /** Whether a throwing probe was already logged at warning level in this watch. */
  warned: boolean;
}

/**
 * The recovery probe (R-EXT-2): while a connector with a `probe()` backs off a failed task, this
 * instance asks `probe()` every `probeIntervalMs` whether the external system is back; when it
 * answers `true` the backing-off tasks become due now (`FlowControlStore.makeBackingOffDue`) and
 * `back` wakes the queue here and on the other instances, so a backlog drains within about one
 * interval of the system's return instead of waiting out a backoff of up to `retry.maxDelayMs`.
 *
 * States of a watch: started by the processor after a run that left a retry ahead (`watch`); each
 * tick asks the database for the probe's turn (`takeProbeSlot`): `idle`, nothing backs off any more
 * (the retry came due, a task was requeued or deleted) and the watch ends; `elsewhere`, another
 * instance probed in this interval; `taken`, this instance probes. A `true` answer ends the watch
 * (a run that fails again starts another); `false`, a throw or no answer within `callTimeoutMs`
 * waits for the next tick. One probe per interval across all instances: several may watch the same
 * connector (each runs some of its partitions), the database's slot lets one of them ask.
 */
@Injectable()
export class RecoveryProbe {
  readonly #logger = new Logger('IntegrationBus');
  readonly #watches = new Map<number, Watch>();
  readonly #stop = new AbortController();

  constructor(private readonly flow: FlowControlStore) {}

  /** Whether this instance is probing the connector now. */
  watching(connectorId: number): boolean {
    return this.#watches.has(connectorId);
  }

  /**
   * Starts probing the connector of `target` every `probeIntervalMs`, unless it has no `probe()`, is
   * probed already, or shutdown has begun. `back` is called once the probe answered true and the
   * backing-off tasks were made due.
   */
  watch(target: ProcessingTarget, back: () => void): void {
    const { connector, connectorId } = target;
    if (this.#stop.signal.aborted || !connector.hasProbe) return;
    if (this.#watches.has(connectorId)) return;
    const watch: Watch = { timer: undefined, warned: false };
    this.#watches.set(connectorId, watch);
    this.#next(target, watch, back);
  }

  /** Stops every watch (shutdown); a probe under way is not waited for. */
  stop(): void {
    this.#stop.abort(new Error('the application is shutting down'));
    for (const { timer } of this.#watches.values()) clearTimeout(timer);
    this.#watches.clear();
  }

  #next(target: ProcessingTarget, watch: Watch, back: () => void): void {
    watch.timer = setTimeout(() => void this.#tick(target, watch, back), target.connector.probeIntervalMs);
    watch.timer.unref();
  }

  async #tick(target: ProcessingTarget, watch: Watch, back: () => void): Promise<void> {
    const { connector, connectorId } = target;
    let slot: ProbeSlot;
    try {
      slot = await this.flow.takeProbeSlot(connectorId, connector.probeIntervalMs * SLOT_SHARE);
    } catch (error) {
      // The database is away: keep watching; the LISTEN connection's return wakes every queue anyway.
      this.#logger.debug(`Recovery probe of ${connector.codeName}: ${describeError(error)}`);
      slot = 'elsewhere';
    }
    if (this.#watches.get(connectorId) !== watch) return; // stopped meanwhile
    if (slot === 'idle') {
      this.#watches.delete(connectorId);
      return;
    }
    if (slot === 'taken' && (await this.#ask(target, watch))) {
      try {
        const due = await this.flow.makeBackingOffDue(connectorId);
        if (this.#watches.get(connectorId) !== watch) return;
        this.#watches.delete(connectorId);
        this.#logger.log(
          `Recovery probe of ${connector.codeName} answered true: ${due} backing-off task(s) retried now`,
        );
        back();
        return;
      } catch (error) {
        this.#logger.debug(`Recovery probe of ${connector.codeName}: ${describeError(error)}`);
      }
    }
    if (this.#watches.get(connectorId) === watch) this.#next(target, watch, back);
  }

  /**
   * Asks the connector's `probe()`. Anything but `true` within `callTimeoutMs` is false; a throw is
   * logged at warning level once per watch, then at debug level, so an outage is one line.
   */
  async #ask({ connector }: ProcessingTarget, watch: Watch): Promise<boolean> {
    const { instance } = connector;
    try {
      const answer = await guardCall<unknown>(
        Promise.resolve().then(() => instance.probe?.()),
        connector.callTimeoutMs,
        [this.#stop.signal],
        () => undefined,
        () => false,
      );
      return answer === true;
    } catch (error) {
      const message = `Recovery probe of ${connector.codeName} threw (counted as false): ${describeError(error)}`;
      if (watch.warned || this.#stop.signal.aborted) this.#logger.debug(message);
      else this.#logger.warn(message);
      watch.warned = true;
      return false;
    }
  }
}
