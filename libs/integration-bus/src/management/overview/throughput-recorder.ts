import { Injectable } from '@nestjs/common';
import { ConnectorCallHook, type ConnectorCall } from '../../delivery/connector-call-hook.js';
import type { LeaseDirection } from '../../persistence/lease.store.js';

/** Minutes of history kept per queue. */
export const THROUGHPUT_MINUTES_KEPT = 60;

const MINUTE_MS = 60_000;

/** One queue's recently finished tasks on this instance. */
interface QueueActivity {
  /** Tasks whose call ended, by minute (`Math.floor(epoch ms / 60,000)`). */
  perMinute: Map<number, number>;
  lastRunAt: number | null;
}

/**
 * Tasks this instance's connector calls finished (each task of a batch call counted: the call hook
 * starts and ends once per task), per connector and direction and per minute, for the admin
 * page's Overview: finished tasks leave no row behind, so throughput cannot be read from the
 * queue. It starts recording at the first `read` (the first time someone opens the Overview), so
 * an instance nobody looks at pays nothing on its processing path; it keeps an hour.
 */
@Injectable()
export class ThroughputRecorder {
  readonly #queues = new Map<string, QueueActivity>();
  #recording = false;

  constructor(private readonly calls: ConnectorCallHook) {}

  /**
   * Tasks finished per minute over the last `minutes` (oldest first, the current minute last) and when the
   * last call ended; starts recording on the first read.
   */
  read(
    connector: string,
    direction: LeaseDirection,
    minutes: number,
    now = Date.now(),
  ): { perMinute: number[]; lastRunAt: Date | null } {
    this.start();
    const activity = this.#queues.get(keyOf(connector, direction));
    const current = Math.floor(now / MINUTE_MS);
    const perMinute = Array.from(
      { length: minutes },
      (_, i) => activity?.perMinute.get(current - minutes + 1 + i) ?? 0,
    );
    const last = activity?.lastRunAt;
    return { perMinute, lastRunAt: last === null || last === undefined ? null : new Date(last) };
  }

  /** Whether calls are being recorded (after the first read). */
  get recording(): boolean {
    return this.#recording;
  }

  private start(): void {
    if (this.#recording) return;
    this.#recording = true;
    this.calls.watch({ started: (call) => this.started(call) });
  }

  private started(call: ConnectorCall): (end: { interrupted?: boolean }) => void {
    return (end) => {
      if (end.interrupted) return;
      this.record(call.connector.codeName, call.direction, Date.now());
    };
  }

  private record(connector: string, direction: LeaseDirection, at: number): void {
    const key = keyOf(connector, direction);
    let activity = this.#queues.get(key);
    if (!activity) {
      activity = { perMinute: new Map(), lastRunAt: null };
      this.#queues.set(key, activity);
    }
    const minute = Math.floor(at / MINUTE_MS);
    activity.perMinute.set(minute, (activity.perMinute.get(minute) ?? 0) + 1);
    activity.lastRunAt = at;
    if (activity.perMinute.size > THROUGHPUT_MINUTES_KEPT) {
      for (const old of activity.perMinute.keys()) {
        if (old <= minute - THROUGHPUT_MINUTES_KEPT) activity.perMinute.delete(old);
      }
    }
  }
}

function keyOf(connector: string, direction: LeaseDirection): string {
  return `${direction}#${connector}`;
}
