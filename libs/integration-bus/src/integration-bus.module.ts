import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { MigrationObject } from '@mikro-orm/core';
import { ConnectorCallHook } from './delivery/connector-call-hook.js';
import { ConsumerIntakeHook } from './events/consumer-intake.js';
import { ConnectorCallTracing } from './delivery/connector-call-tracing.js';
import { ConnectorExplorer } from './connectors/connector.explorer.js';
import { ConnectorRegistry } from './connectors/connector-registry.js';
import { IntegrationEventLog } from './persistence/integration-event-log.service.js';
import { IntegrationEventPublisher } from './events/integration-event-publisher.js';
import {
  ConfigurableIntegrationBusModule,
  INTEGRATION_BUS_MODULE_OPTIONS,
  INTEGRATION_BUS_OPTIONS_TYPE,
  RESOLVED_OPTIONS,
} from './integration-bus.module-definition.js';
import { IntegrationBus } from './integration-bus.service.js';
import type { IntegrationBusModuleOptions } from './interfaces/integration-bus-options.interface.js';
import { resolveOptions } from './interfaces/resolve-options.js';
import { OutgoingCall } from './delivery/outgoing-call.js';
import { OutgoingProcessor } from './delivery/outgoing-processor.js';
import { ChangeLogger } from './outgoing/change-logger.js';
import { ChangeFlushSubscriber } from './outgoing/flush-subscriber.js';
import { TasksCommitted } from './delivery/tasks-committed.js';
import { QueueListener } from './delivery/queue-listener.js';
import { QueueSignals } from './delivery/queue-signal.js';
import { SyncTaskDispatcher } from './outgoing/sync-task-dispatcher.js';
import { BusDatabase } from './persistence/bus-database.js';
import { ConnectorStore } from './persistence/connector.store.js';
import { InstanceStore } from './persistence/instance.store.js';
import { LeaseStore } from './persistence/lease.store.js';
import { PartitionGroupStore } from './persistence/partition-group.store.js';
import { PartitionGroupLease } from './delivery/partition-group-lease.js';
import { PartitionStore } from './persistence/partition.store.js';
import { EventLogStore } from './persistence/event-log.store.js';
import { INTEGRATION_BUS_ENTITIES } from './persistence/integration-bus.entities.js';
import { Migration20261124000000IntegrationBusAfterDrop } from './persistence/integration-bus-after-drop.migration.js';
import { Migration20261124100000IncomingLease } from './persistence/incoming-lease.migration.js';
import { ConnectorLease } from './delivery/connector-lease.js';
import { InstanceId } from './connectors/instance-id.js';
import { InstanceMembership } from './delivery/instance-membership.js';
import { ExternalTaskLogger } from './incoming/external-task-logger.js';
import { IntakeCounters } from './consumers/intake-counters.js';
import { IncomingApplier } from './incoming/incoming-applier.js';
import { IncomingProcessor } from './incoming/incoming-processor.js';
import { IncomingScheduler } from './incoming/incoming-scheduler.js';
import { SettingStore } from './persistence/setting.store.js';
import { ChangeLogStore } from './persistence/change-log.store.js';
import { QueueStore } from './persistence/queue.store.js';
import { TaskAdminStore } from './persistence/task-admin.store.js';
import { SettingsService } from './settings/settings.service.js';
import { AdminTokenGuard } from './management/guards/admin-token.guard.js';
import { NotifyTokenGuard } from './management/guards/notify-token.guard.js';
import { MANAGEMENT_CONTROLLERS, managementProviders } from './management/management.providers.js';
import { BusMetrics } from './management/metrics/bus-metrics.service.js';
import { IntegrationBusHealthIndicator } from './management/health/integration-bus-health.indicator.js';
import { IntegrationBusRetention } from './management/retention/retention.service.js';
import { Migration20261126000000TaskListIndexes } from './persistence/task-list-indexes.migration.js';
import { Migration20261201000000DeliveryState } from './persistence/delivery-state.migration.js';
import { Migration20261201100000Partitions } from './persistence/partitions.migration.js';
import { Migration20261201110000TaskPayloadJson } from './persistence/task-payload-json.migration.js';
import { Migration20261201200000Idempotency } from './persistence/idempotency.migration.js';
import { IdempotencyKeyStore } from './persistence/idempotency-key.store.js';
import { Migration20261201300000TraceContext } from './persistence/trace-context.migration.js';
import { Migration20261201400000LoneTasks } from './persistence/lone-tasks.migration.js';
import { Migration20261207200000SkipCount } from './persistence/skip-count.migration.js';
import { Migration20261207400000FlowControl } from './persistence/flow-control.migration.js';
import { RecoveryProbe } from './delivery/recovery-probe.js';
import { SupersededTasks } from './delivery/latest-changes.js';
import { Migration20261207500000ProbeSlot } from './persistence/probe-slot.migration.js';
import { FlowControlStore } from './persistence/flow-control.store.js';
import { Migration20261207100000IntakeSequence } from './persistence/intake-sequence.migration.js';
import { IntakeSequenceStore } from './persistence/intake-sequence.store.js';
import { Migration20261207300000Resync } from './persistence/resync.migration.js';
import { IntegrationResyncSchema } from './persistence/resync.entity.js';
import { ResyncChunks } from './resync/resync-chunk.js';
import { ResyncRunner } from './resync/resync-runner.js';
import { ResyncService } from './resync/resync.service.js';
import { ResyncStore } from './resync/resync.store.js';
import { TaskRefresh } from './resync/task-refresh.js';
import { TaskRefreshStore } from './resync/task-refresh.store.js';

const resolvedOptions: Provider = {
  provide: RESOLVED_OPTIONS,
  useFactory: (options: IntegrationBusModuleOptions) => resolveOptions(options),
  inject: [INTEGRATION_BUS_MODULE_OPTIONS],
};

/** One identity per process for leases and NOTIFYs (a class, not a Nest token: built here). */
const instanceId: Provider = { provide: InstanceId, useFactory: () => new InstanceId() };

/**
 * The integration bus. Import it once with `forRoot` / `forRootAsync` next to `MikroOrmModule`
 * (and `EventEmitterModule` for events), and add `IntegrationBusModule.entities` and
 * `IntegrationBusModule.migrations` to the MikroORM config. Global by default (`isGlobal`).
 */
@Module({
  imports: [DiscoveryModule],
  controllers: MANAGEMENT_CONTROLLERS,
  providers: [
    resolvedOptions,
    BusDatabase,
    ConnectorStore,
    LeaseStore,
    PartitionGroupStore,
    PartitionGroupLease,
    PartitionStore,
    InstanceStore,
    ChangeLogStore,
    QueueStore,
    TaskAdminStore,
    IdempotencyKeyStore,
    IntakeSequenceStore,
    FlowControlStore,
    SettingStore,
    EventLogStore,
    SettingsService,
    ConnectorRegistry,
    ConnectorExplorer,
    ConnectorLease,
    instanceId,
    InstanceMembership,
    ConnectorCallHook,
    ConnectorCallTracing,
    ConsumerIntakeHook,
    IntegrationEventPublisher,
    TasksCommitted,
    SyncTaskDispatcher,
    OutgoingCall,
    OutgoingProcessor,
    RecoveryProbe,
    SupersededTasks,
    ChangeLogger,
    ChangeFlushSubscriber,
    QueueListener,
    QueueSignals,
    ExternalTaskLogger,
    IncomingApplier,
    IncomingProcessor,
    IncomingScheduler,
    ResyncStore,
    ResyncChunks,
    ResyncRunner,
    ResyncService,
    TaskRefreshStore,
    TaskRefresh,
    IntegrationBus,
    IntegrationEventLog,
    IntakeCounters,
    ...managementProviders(() => IntegrationBusModule),
  ],
  // RESOLVED_OPTIONS: the token guards resolve it in whatever module uses them with @UseGuards().
  exports: [
    IntegrationBus,
    IntegrationEventLog,
    IntakeCounters,
    // What the broker consumers (host providers) inject besides the bus.
    ConsumerIntakeHook,
    BusMetrics,
    IntegrationBusHealthIndicator,
    IntegrationBusRetention,
    AdminTokenGuard,
    NotifyTokenGuard,
    RESOLVED_OPTIONS,
  ],
})
export class IntegrationBusModule extends ConfigurableIntegrationBusModule {
  /**
   * The bus with static options. They are validated here, when the host's module is declared: a bad
   * option throws `InvalidOptionsError` before any provider (MikroORM's pool among them) starts.
   */
  static override forRoot(options: typeof INTEGRATION_BUS_OPTIONS_TYPE): DynamicModule {
    resolveOptions(options);
    return super.forRoot(options);
  }

  /** The bus's entity schemas, for the host's MikroORM `entities`. */
  static readonly entities = [...INTEGRATION_BUS_ENTITIES, IntegrationResyncSchema];

  /** The bus's migrations, for the host's MikroORM `migrations.migrationsList`. */
  static readonly migrations: MigrationObject[] = [
    // The first migration, preceded by the clean-up of what a schema.drop() leaves behind.
    { name: 'Migration20261124000000_IntegrationBus', class: Migration20261124000000IntegrationBusAfterDrop },
    { name: 'Migration20261124100000_IncomingLease', class: Migration20261124100000IncomingLease },
    { name: 'Migration20261126000000_TaskListIndexes', class: Migration20261126000000TaskListIndexes },
    { name: 'Migration20261201000000_DeliveryState', class: Migration20261201000000DeliveryState },
    { name: 'Migration20261201100000_Partitions', class: Migration20261201100000Partitions },
    { name: 'Migration20261201110000_TaskPayloadJson', class: Migration20261201110000TaskPayloadJson },
    { name: 'Migration20261201200000_Idempotency', class: Migration20261201200000Idempotency },
    { name: 'Migration20261201300000_TraceContext', class: Migration20261201300000TraceContext },
    { name: 'Migration20261201400000_LoneTasks', class: Migration20261201400000LoneTasks },
    { name: 'Migration20261207100000_IntakeSequence', class: Migration20261207100000IntakeSequence },
    { name: 'Migration20261207200000_SkipCount', class: Migration20261207200000SkipCount },
    { name: 'Migration20261207300000_Resync', class: Migration20261207300000Resync },
    { name: 'Migration20261207400000_FlowControl', class: Migration20261207400000FlowControl },
    { name: 'Migration20261207500000_ProbeSlot', class: Migration20261207500000ProbeSlot },
  ];
}
