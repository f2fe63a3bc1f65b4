/**
 * PostgreSQL's answers that mean "this statement lost a race, nothing of it was written": a
 * deadlock (`40P01`, the victim's transaction is rolled back) and a serialization failure (`40001`).
 */
const CONFLICT_CODES = new Set(['40P01', '40001']);

/** How many times a conflicting write is tried in all before its error is thrown. */
const ATTEMPTS = 5;

/** Whether `error` is a deadlock or serialization failure reported by PostgreSQL. */
function isWriteConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONFLICT_CODES.has(code);
}

/**
 * Runs one of the bus's own writes (a batch's outcome), again when PostgreSQL refused it for a
 * deadlock or serialization failure (R-DEL-2: a fault-free run delivers nothing twice).
 *
 * Why running it again is right: the refused statement or transaction was rolled back whole, so
 * nothing of the outcome was written; `work` only writes what the connector calls already answered
 * and never calls a connector itself. Without it, the run failed and its batch was delivered again
 * by the next run: up to `batchSize` duplicates out of a lock-order race between two connectors
 * finishing the same shared tasks. The writes take their task locks in id order, so a deadlock is
 * not expected any more; this is the second line. The pause before each new attempt is short and
 * random (a few milliseconds, growing), so two victims do not meet again in step.
 */
export async function retryOnWriteConflict<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= ATTEMPTS || !isWriteConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
    }
  }
}
