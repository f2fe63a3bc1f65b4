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

/**
 * How a watcher follows one call: the function called with its end, or an object that may also
 * run the call inside a context of its own (tracing makes its span the active one).
 */
export type ConnectorCallObserver =
  | ((end: ConnectorCallEnd) => void)
  | {
      /** Runs the call, e.g. with the watcher's span active around it; returns what `call` returns. */
      run<T>(call: () => T): T;
      /** The call ended. */
      ended(end: ConnectorCallEnd): void;
    };

/** Told when connector calls start and end (metrics, tracing). */
export interface ConnectorCallWatcher {
  /** Whether it wants calls now; without it, always. Asked per call before anything is built. */
  enabled?(): boolean;
  /** A call starts; what it returns, if anything, hears of its end once (and may run the call). */
  started(call: ConnectorCall): ConnectorCallObserver | undefined;
}

/** A call the watchers follow: run it through `run`, report its end to `end` once. */
export interface WatchedCall {
  /** Runs the connector call inside the watchers' contexts (the tracing span active). */
  run<T>(call: () => T): T;
  end(end: ConnectorCallEnd): void;
}

/**
 * The one place that watches connector calls: the processors report each call's start and end
 * here, and metrics and tracing subscribe. With no watcher, `start` returns `undefined` after one
 * length check, so the drain's hot path allocates nothing for it; a watcher that throws is ignored,
 * since observing a call must never change its outcome.
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
   * A call starts: returns how to run it and report its end, or `undefined` when nobody watches.
   * The unwatched path builds no object.
   */
  start(
    connector: LoadedConnector,
    direction: LeaseDirection,
    row: ConnectorCallFacts,
  ): WatchedCall | undefined {
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
    const runners: (<T>(call: () => T) => T)[] = [];
    for (const watcher of watchers) {
      if (!wants(watcher)) continue;
      try {
        const observer = watcher.started(call);
        if (typeof observer === 'function') ends.push(observer);
        else if (observer) {
          ends.push((end) => observer.ended(end));
          runners.push((fn) => observer.run(fn));
        }
      } catch {
        // A watcher's failure is its own: the call goes on.
      }
    }
    return {
      run: (fn) => runners.reduce((inner, runner) => () => runner(inner), fn)(),
      end: (end) => {
        for (const finish of ends) {
          try {
            finish(end);
          } catch {
            // As above.
          }
        }
      },
    };
  }

  /** Runs `call` through `watched` when the call is watched, else as it is. */
  static run<T>(watched: WatchedCall | undefined, call: () => T): T {
    return watched ? watched.run(call) : call();
  }

  /**
   * Reports `outcome`'s end to `watched` (when given) once it settles, and returns it unchanged: a
   * synchronous answer stays synchronous.
   */
  static settle<T extends ConnectorCallEnd>(
    outcome: T | Promise<T>,
    watched: WatchedCall | undefined,
  ): T | Promise<T> {
    if (!watched) return outcome;
    if (!(outcome instanceof Promise)) {
      watched.end(outcome);
      return outcome;
    }
    return outcome.then(
      (value) => {
        watched.end(value);
        return value;
      },
      (error: unknown) => {
        // Interrupted (lease lost, shutdown): not an outcome, but the watcher's call ends here.
        watched.end({
          result: IntegrationProcessResult.Error,
          errorMessage: 'interrupted',
          interrupted: true,
        });
        throw error;
      },
    );
  }
}

function wants(watcher: ConnectorCallWatcher): boolean {
  return watcher.enabled === undefined || watcher.enabled();
}
