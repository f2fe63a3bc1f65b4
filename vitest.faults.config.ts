import { defineConfig } from 'vitest/config';

/**
 * The process-level fault tests (test/faults, issue 10): real worker, producer and PostgreSQL
 * processes, timing-sensitive, so one file at a time and apart from `npm test`. Run by
 * `npm run test:faults`, once in CI.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.spec.ts'],
    globalSetup: ['test/faults/support/build.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    // A scenario measures what processes do; running it again on failure would hide a flaky guarantee.
    retry: 0,
  },
});
