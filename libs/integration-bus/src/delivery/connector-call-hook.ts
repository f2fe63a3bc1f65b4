import { Injectable } from '@nestjs/common';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { LeaseDirection } from '../persistence/lease.store.js';
import type { QueuedSynchronization } from '../persistence/queue.store.js';
import type { LoadedConnector } from '../connectors/connector-registry.js';

/** One connector call as the watchers see it start. */
export interface ConnectorCall {
  connector: LoadedConnector;
  direction: LeaseDirection;
  taskId: number;
  /** 1 for the first attempt of this task for this connector. */
  attempt: number;
  /** Failed attempts before this one, towards `retry.maxAttempts` (R-DEL-6). */
  failures: number;
  /** SkipNow answers before this one, towards `retry.skipNow.maxAttempts` (R-EXT-4). */
  skips: number;
  /** The task's GUID. */
  guid: string;
  /** W3C `traceparent` of the task's `create` span, or null (R-ECO-4). */
  traceParent: string | null;
  /** A synchronous connector, called inside the flush that logged the change (no stored task). */
  synchronous: boolean;
}

/** What the processors tell of the task they hand over: a queued row, or a synchronous delivery. */
export type ConnectorCallFacts = Pick<
  QueuedSynchronization,
  'taskId' | 'attempts' | 'failures' | 'skips' | 'guid' | 'traceParent'
> & { synchronous?: boolean };

/** What a call ended with: the normalised answer, a timeout counted as Error included. */
export interface ConnectorCallEnd {
  result: IntegrationProcessResult;
  errorMessage: string | null;
  /** The run stopped waiting (lease lost, shutdown): the task stays queued, no result counts. */
  interrupted?: boolean;
}

/** Told when connector calls start and end (metrics, tracing). */
export interface ConnectorCallWatcher {
  /** Whether it wants calls now; without it, always. Asked per call before anything is built. */
  enabled?(): boolean;
  /** A call starts; the returned function, if any, is called once when it ends. */
  started(call: ConnectorCall): ((end: ConnectorCallEnd) => void) | undefined;
}

/**
 * The one place that watches connector calls: the processors report each call's start and end
 * here, and metrics (and later tracing) subscribe. With no watcher, `start` returns `undefined`
 * after one length check, so the drain's hot path allocates nothing for it; a watcher that throws
 * is ignored, since observing a call must never change its outcome.
 */
@Injectable()
export class ConnectorCallHook {
  #watchers: readonly ConnectorCallWatcher[] = [];

  /** Adds a watcher; returns the function that removes it. */
  watch(watcher: ConnectorCallWatcher): () => void {
    this.#watchers = [...this.#watchers, watcher];
    return () => {
      this.#watchers = this.#watchers.filter((w) => w !== watcher);
    };
  }

  /**
   * A call starts: returns the function to call with its end, or `undefined` when nobody watches.
   * The unwatched path builds no object.
   */
  start(
    connector: LoadedConnector,
    direction: LeaseDirection,
    row: ConnectorCallFacts,
  ): ((end: ConnectorCallEnd) => void) | undefined {
    const watchers = this.#watchers;
    if (!watchers.some(wants)) return undefined;
    const call: ConnectorCall = {
      connector,
      direction,
      taskId: Number(row.taskId),
      attempt: row.attempts + 1,
      failures: row.failures,
      skips: row.skips,
      guid: row.guid,
      traceParent: row.traceParent,
      synchronous: row.synchronous ?? false,
    };
    const ends: ((end: ConnectorCallEnd) => void)[] = [];
    for (const watcher of watchers) {
      if (!wants(watcher)) continue;
      try {
        const end = watcher.started(call);
        if (end) ends.push(end);
      } catch {
        // A watcher's failure is its own: the call goes on.
      }
    }
    return (end) => {
      for (const finish of ends) {
        try {
          finish(end);
        } catch {
          // As above.
        }
      }
    };
  }

  /**
   * Reports `outcome`'s end to `end` (when given) once it settles, and returns it unchanged: a
   * synchronous answer stays synchronous.
   */
  static settle<T extends ConnectorCallEnd>(
    outcome: T | Promise<T>,
    end: ((end: ConnectorCallEnd) => void) | undefined,
  ): T | Promise<T> {
    if (!end) return outcome;
    if (!(outcome instanceof Promise)) {
      end(outcome);
      return outcome;
    }
    return outcome.then(
      (value) => {
        end(value);
        return value;
      },
      (error: unknown) => {
        // Interrupted (lease lost, shutdown): not an outcome, but the watcher's call ends here.
        end({ result: IntegrationProcessResult.Error, errorMessage: 'interrupted', interrupted: true });
        throw error;
      },
    );
  }
}

function wants(watcher: ConnectorCallWatcher): boolean {
  return watcher.enabled === undefined || watcher.enabled();
}
