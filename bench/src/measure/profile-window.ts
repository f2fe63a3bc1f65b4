import { writeFileSync } from 'node:fs';

/** The monotonic clock `.cpuprofile` timestamps use, in microseconds. */
export function profileClock(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * When the parent profiles this child (`--profile`), records the measured section's start and end
 * beside the profile, so that `profile-summary` can leave out start-up and seeding.
 */
export function recordProfileWindow(startMicros: number, endMicros: number): void {
  const file = process.env.BENCH_PROFILE_WINDOW;
  if (file) writeFileSync(file, `${JSON.stringify({ startMicros, endMicros })}\n`);
}
