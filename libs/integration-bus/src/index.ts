/**
 * nestjs-integration-bus: keep a NestJS + MikroORM application in sync with other systems, in both
 * directions, through a transactional PostgreSQL queue.
 */

// First: a clear error on a Node.js the bus cannot run on (Node ≥ 22.17).
// oxlint-disable-next-line import/no-unassigned-import -- imported for its side effect, the check
import './runtime/check-node-version.js';

// Setting up
export { IntegrationBusModule } from './integration-bus.module.js';
export type {
  IntegrationBusModuleOptions,
  IntegrationBusRetentionOptions,
  IntegrationBusSettings,
} from './interfaces/integration-bus-options.interface.js';

// Marking entities
export { IntegrationObject, type IntegrationObjectOptions } from './metadata/integration-object.decorator.js';
export {
  IntegrationDocument,
  type IntegrationDocumentOptions,
} from './metadata/integration-document.decorator.js';
export type { IntegrationSubject, PlainIntegrationObject } from './metadata/integration-subject.js';

// Writing connectors
export {
  Connector,
  type ConnectorCoalescing,
  type ConnectorOptions,
  type ThrownErrorResult,
} from './connectors/connector.decorator.js';
export type { RetryOptions, SkipNowRetryOptions } from './connectors/retry-policy.js';
export { Subscribe } from './connectors/subscribe.decorator.js';
export {
  BaseIntegrationConnector,
  type ExternalDocumentQuery,
  type ExternalId,
  type ExternalObjectQuery,
  type InternalDocumentParams,
  type InternalObjectParams,
  type PrepareInternalObjectContext,
  type SubscribeHelperOptions,
} from './connectors/base-integration-connector.js';
export type { BatchOutcome, OutgoingTask, ProcessOutcome } from './connectors/outgoing-task.interface.js';
export { errorAndSkip, skipNow, type ProcessOutcomeWithMessage } from './connectors/process-outcomes.js';
export { TranslationHelper } from './translation/translation-helper.js';
export type { TranslationRecord } from './persistence/translation-record.js';

// Relaying to brokers (R-ECO-2): connectors that publish tasks to NATS JetStream or RabbitMQ
export {
  BrokerRelayConnector,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  type BrokerRelayOptions,
} from './relay/broker-relay.connector.js';
export {
  NatsJetStreamRelayConnector,
  type NatsJetStreamRelayOptions,
} from './relay/nats-jetstream-relay.connector.js';
export type { NatsServerOptions } from './relay/nats-server-options.js';
export { RabbitMqRelayConnector, type RabbitMqRelayOptions } from './relay/rabbitmq-relay.connector.js';
export {
  ClientProxyRelayConnector,
  type ClientProxyRelayOptions,
  type ClientProxyRelayPacket,
  type RelayClientProxy,
  type RelaySubscribable,
} from './relay/client-proxy-relay.connector.js';
export {
  buildRelayEnvelope,
  objectKeyOf,
  relayMessageId,
  type RelayEnvelope,
} from './relay/relay-envelope.js';
export {
  defaultRelayRoute,
  OBJECT_KEY_HEADER,
  OBJECT_TYPE_HEADER,
  objectKeyRelayRoute,
  RELAY_CONTENT_TYPE,
  routeToken,
  SEQUENCE_HEADER,
  TASK_TYPE_HEADER,
  type RelayMessage,
  type RelayRoute,
} from './relay/relay-message.js';
// Standard envelopes and schemas (R-ECO-5): CloudEvents 1.0 and the JSON Schemas of the bodies
export {
  buildRelayCloudEvent,
  DEFAULT_CLOUDEVENT_TYPE_PREFIX,
  type RelayCloudEventAttributes,
  type RelayCloudEventData,
  type RelayCloudEventOptions,
  type RelayFormat,
} from './relay/relay-cloud-event.js';
export {
  AMQP_CLOUDEVENT_PREFIX,
  amqpCloudEventHeaders,
  CLOUDEVENTS_JSON_TYPE,
  NATS_CLOUDEVENT_PREFIX,
  natsCloudEventHeaders,
  readCloudEvent,
  type CloudEventCarrier,
  type ReceivedCloudEvent,
} from './relay/cloud-event-binding.js';
export {
  RELAY_CLOUDEVENT_DATA_SCHEMA_ID,
  RELAY_ENVELOPE_SCHEMA_ID,
  RELAY_SCHEMA_FILES,
  relaySchema,
  type JsonSchemaDocument,
} from './relay/relay-schemas.js';
export { setRelayTraceContextInjector, type RelayTraceContextInjector } from './relay/trace-context.js';

// Consuming from brokers (R-ECO-2, R-ECO-3): messages become incoming tasks, acknowledged after commit
export {
  BrokerTaskConsumer,
  type BrokerTaskConsumerOptions,
  type MessageDisposition,
} from './consumers/broker-task-consumer.js';
export {
  NatsJetStreamTaskConsumer,
  type NatsJetStreamTaskConsumerOptions,
} from './consumers/nats-jetstream-task-consumer.js';
export {
  RabbitMqTaskConsumer,
  type RabbitMqTaskConsumerOptions,
} from './consumers/rabbitmq-task-consumer.js';
export { IntakeCounters, type IntakeCount, type IntakeOutcome } from './consumers/intake-counters.js';
export {
  decodeIncomingTaskRequest,
  idempotencyKeyOfMessage,
  sequenceOfMessage,
  type BrokerMessage,
  type IncomingTaskRequest,
} from './consumers/incoming-message.js';

// Subscriptions
export {
  AbstractIntegrationSubscription,
  type SubscriptionOptions,
} from './subscriptions/abstract-integration-subscription.js';
export {
  BaseIntegrationSubscription,
  type SiteSubscriptionOptions,
} from './subscriptions/base-integration-subscription.js';
export {
  ObjectIntegrationSubscription,
  type ObjectSubscriptionOptions,
} from './subscriptions/object-integration-subscription.js';
export {
  DocumentIntegrationSubscription,
  type DocumentSubscriptionOptions,
} from './subscriptions/document-integration-subscription.js';
export type { SubscriptionInput } from './subscriptions/subscription-input.js';
export { GLOBAL_OBJECTS } from './integration-bus.constants.js';

// Enums
export { TaskType } from './enums/task-type.enum.js';
export { TaskProcessType } from './enums/task-process-type.enum.js';
export { TaskDataType } from './enums/task-data-type.enum.js';
export { IntegrationProcessResult } from './enums/integration-process-result.enum.js';
export { IntegrationProcessType } from './enums/integration-process-type.enum.js';

// Operating
export { IntegrationBus, type LogInternalTaskOptions } from './integration-bus.service.js';
export type { ResyncOptions, ResyncProgress } from './resync/resync-progress.js';
export type { ResyncStatus } from './resync/resync.store.js';
export type { ResultCounts } from './delivery/invoke-connector.js';
export type {
  ExternalTaskOptions,
  ExternalTaskOutcome,
  ExternalTaskSkipReason,
} from './incoming/external-task-logger.js';
export { ExternalTaskBatch } from './incoming/external-task-batch.js';
export { INCOMING_JOB_NAME } from './incoming/incoming-scheduler.js';
export { IDEMPOTENCY_KEY_MAX_LENGTH } from './incoming/idempotency-key.js';
export { SEQUENCE_KEY_MAX_LENGTH } from './incoming/intake-sequence.js';
export type { ConnectorStatus } from './connectors/connector-registry.js';
export type { ConnectorRecord } from './persistence/connector.store.js';
export { IntegrationEvents, type IntegrationEventName } from './events/integration-events.js';
export { IntegrationEventLog } from './persistence/integration-event-log.service.js';
export { BUS_EVENT_SOURCE, BusEventCodes, type BusEventCode } from './events/bus-event-codes.js';
export type { EventLogEntry, EventLogLevel, NewEventLogEntry } from './persistence/event-log.store.js';
export {
  IntegrationTaskEvent,
  type BatchPosition,
  type IntegrationTaskInfo,
} from './events/integration-task-event.js';

// Management: REST API, admin page, metrics (under /{http.path})
export { AdminTokenGuard } from './management/guards/admin-token.guard.js';
export { NotifyTokenGuard } from './management/guards/notify-token.guard.js';
export { BusMetrics } from './management/metrics/bus-metrics.service.js';
export {
  IntegrationBusHealthIndicator,
  type IntegrationBusHealthDetails,
  type IntegrationBusHealthResult,
} from './management/health/integration-bus-health.indicator.js';
export type { BusHealthReport, HealthStatus, QueueHealth } from './management/health/bus-health.service.js';
export type { Overview, QueueOverview } from './management/overview/overview.service.js';
export {
  IntegrationBusRetention,
  RETENTION_INTERVAL_MS,
  type RetentionPass,
  type RetentionRemoved,
  type RetentionStatus,
} from './management/retention/retention.service.js';
export type { RetainedOldest } from './persistence/retention.store.js';
export { RequestValidationError } from './management/validation/request-input.js';
export type {
  BulkDeletionResult,
  BulkRequeueResult,
  BulkSelection,
  BulkSynchronizationResult,
  TaskDetail,
  TaskDirection,
  TaskListItem,
  TaskSynchronization,
} from './management/services/task-management.service.js';
export type { SynchronizationStatus } from './persistence/task-query.store.js';
export type { ConnectorDeletion } from './management/services/connector-management.service.js';
export type {
  IncomingTaskLogged,
  IncomingTaskNotLogged,
  NotifyAccepted,
} from './management/services/incoming-intake.service.js';

// Persistence
export { Migration20261124000000IntegrationBus } from './persistence/integration-bus.migration.js';
export { Migration20261124000000IntegrationBusAfterDrop } from './persistence/integration-bus-after-drop.migration.js';
export { Migration20261124100000IncomingLease } from './persistence/incoming-lease.migration.js';
export { Migration20261126000000TaskListIndexes } from './persistence/task-list-indexes.migration.js';
export { Migration20261201000000DeliveryState } from './persistence/delivery-state.migration.js';
export { Migration20261201100000Partitions } from './persistence/partitions.migration.js';
export { Migration20261201110000TaskPayloadJson } from './persistence/task-payload-json.migration.js';
export { Migration20261201200000Idempotency } from './persistence/idempotency.migration.js';
export { Migration20261201300000TraceContext } from './persistence/trace-context.migration.js';
export { Migration20261201400000LoneTasks } from './persistence/lone-tasks.migration.js';
export { Migration20261207100000IntakeSequence } from './persistence/intake-sequence.migration.js';
export { Migration20261207300000Resync } from './persistence/resync.migration.js';
export * from './persistence/integration-bus.entities.js';
export { IntegrationResyncSchema, type IntegrationResyncRow } from './persistence/resync.entity.js';

// Errors
export { IntegrationBusError } from './errors/integration-bus.error.js';
export { InvalidOptionsError } from './errors/invalid-options.error.js';
export { InvalidConnectorError } from './errors/invalid-connector.error.js';
export { InvalidExternalTaskError } from './errors/invalid-external-task.error.js';
export { ConnectorNotFoundError } from './errors/connector-not-found.error.js';
export { ConnectorBusyError } from './errors/connector-busy.error.js';
export { ClaimLostError } from './errors/claim-lost.error.js';
export { ConnectorDisabledError } from './errors/connector-disabled.error.js';
export { ProcessingDisabledError } from './errors/processing-disabled.error.js';
export { TaskNotFoundError } from './errors/task-not-found.error.js';
export { InvalidResyncError } from './errors/invalid-resync.error.js';
export { ResyncConflictError } from './errors/resync-conflict.error.js';
export { ResyncNotFoundError } from './errors/resync-not-found.error.js';
export { TaskRefreshError } from './errors/task-refresh.error.js';
export { TranslationError } from './errors/translation.error.js';
export { MissingPeerDependencyError } from './errors/missing-peer-dependency.error.js';
export { InvalidBrokerMessageError } from './errors/invalid-broker-message.error.js';
export { ExternalObjectError } from './incoming/external-object.error.js';
export { IntegrationBusExceptionFilter } from './management/management-exception.filter.js';
export type { ExternalColumns } from './translation/external-translator.js';

// Runtime
export { MINIMUM_NODE_VERSION } from './runtime/node-version.js';
