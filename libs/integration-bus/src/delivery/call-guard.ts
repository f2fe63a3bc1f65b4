import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { NormalizedOutcome } from './invoke-connector.js';

/** The run stopped waiting for a connector call: its lease is gone, or the application is stopping. */
export class CallInterrupted extends Error {}

/**
 * Waits for a connector's pending answer for at most `timeoutMs` (R-DEL-4), or until one of
 * `interrupts` is aborted. A call that takes longer counts as Error ("timed out after N ms") and
 * `onGiveUp` tells the connector through its task's signal (`timedOut` widens that Error to a
 * batch's answer); an interruption rejects with
 * `CallInterrupted` (the task is not counted: it stays queued and is delivered again). The call
 * itself cannot be stopped: its late answer is ignored.
 */
export function guardCall<T = NormalizedOutcome>(
  pending: Promise<T>,
  timeoutMs: number,
  interrupts: readonly AbortSignal[],
  onGiveUp: (reason: string) => void,
  timedOut: (outcome: NormalizedOutcome) => T = (outcome) => outcome as T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      for (const signal of interrupts) signal.removeEventListener('abort', interrupt);
      return true;
    };
    const interrupt = (): void => {
      if (!finish()) return;
      const reason = interrupts.find((s) => s.aborted)?.reason;
      const message = reason instanceof Error ? reason.message : 'interrupted';
      onGiveUp(message);
      reject(new CallInterrupted(message));
    };
    const timer = setTimeout(() => {
      if (!finish()) return;
      const message = `timed out after ${timeoutMs} ms`;
      onGiveUp(message);
      resolve(timedOut({ result: IntegrationProcessResult.Error, errorMessage: message }));
    }, timeoutMs);
    // Handled before the interrupts are looked at: a call interrupted at once (its claim lost
    // before it was awaited, e.g. by the fence of a handler that threw) still has its rejection
    // handled, not reported as unhandled. Its handlers run later than a synchronous interrupt.
    pending.then(
      (outcome) => {
        if (finish()) resolve(outcome);
      },
      (error: unknown) => {
        if (finish()) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
    for (const signal of interrupts) {
      if (signal.aborted) {
        interrupt();
        return;
      }
      signal.addEventListener('abort', interrupt, { once: true });
    }
  });
}
