/** A batch call as a test connector timed it: when it started and answered, and the objects it held. */
export interface TimedCall {
  startedAt: number;
  /** `Infinity` while the call is in flight. */
  answeredAt: number;
  objects: readonly string[];
}

/**
 * The objects a call was handed while an earlier call holding the same object was still in flight:
 * empty when overlapping calls kept per-object order (R-DEL-1).
 */
export function objectsHandedTwiceAtOnce(calls: readonly TimedCall[]): string[] {
  const lastCallOf = new Map<string, TimedCall>();
  const overlapping: string[] = [];
  for (const call of calls) {
    for (const object of call.objects) {
      const before = lastCallOf.get(object);
      if (before && call.startedAt < before.answeredAt) overlapping.push(object);
      lastCallOf.set(object, call);
    }
  }
  return overlapping;
}

/** Whether some call started before the call before it had answered. */
export function someCallsOverlapped(calls: readonly TimedCall[]): boolean {
  return calls.some((call, i) => i > 0 && call.startedAt < calls[i - 1]!.answeredAt);
}
