/**
 * Renews a lease every third of `leaseMs`, one renewal at a time: `renew(sentAt)` starts one (its
 * `sentAt` is what a renewed claim counts from, see `validFor` in `connector-lease.ts`), or answers
 * null when nothing is held any more. A failed renewal goes to `failed` and leaves the claims as
 * they were. The timer does not keep the process alive.
 */
export function keepRenewing(
  leaseMs: number,
  renew: (sentAt: number) => Promise<void> | null,
  failed: (error: unknown) => void,
): { stop(): void } {
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing) return;
      const pending = renew(performance.now());
      if (pending === null) return;
      renewing = true;
      void pending.catch(failed).finally(() => {
        renewing = false;
      });
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
