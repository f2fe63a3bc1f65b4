/**
 * nestjs-integration-bus/testing: what a connector author needs to test a connector without the
 * queue's timing. Build the test app with {@link manualProcessing}, log tasks the way the app does,
 * then run them through connectors and look at the outcome.
 */
// oxlint-disable-next-line import/no-unassigned-import -- imported for its side effect, the check
import '../runtime/check-node-version.js';

// A database of the test's own
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './test-database.js';

// Driving the queue
export { manualProcessing } from './manual-processing.js';
export { runOutgoingTask } from './run-outgoing-task.js';
export { runIncomingTask } from './run-incoming-task.js';
export { drainQueue, type DrainQueueOptions, type DrainResult } from './drain-queue.js';
export { advanceRetryClock } from './retry-clock.js';

// Looking at what connectors received
export type { TaskOutcome } from './task-outcome.js';
export type { DeliveredTask } from './delivered-task.js';
export { recordDeliveries, type DeliveryRecording } from './record-deliveries.js';
export {
  RecordingConnector,
  recordingConnector,
  type RecordedTask,
  type RecordingAnswer,
} from './recording-connector.js';
export type { BusTarget } from './bus-target.js';

// Looking at the queue in SQL
export { SYNCHRONIZATIONS as ALL_SYNCHRONIZATIONS_SQL } from '../persistence/synchronizations.js';
