import type { IntegrationBusModuleOptions } from '../interfaces/integration-bus-options.interface.js';

/**
 * Module options for a test app whose queue moves only when the test says so: no processing after
 * commit (nor on other instances' notifications), no periodic sweep, no scheduled incoming job.
 * Spread them into `IntegrationBusModule.forRoot({ ...manualProcessing, … })`, then drive the queue
 * with {@link runOutgoingTask}, {@link runIncomingTask} and {@link drainQueue}.
 */
export const manualProcessing = {
  outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
  incoming: { enabled: false },
} as const satisfies IntegrationBusModuleOptions;
