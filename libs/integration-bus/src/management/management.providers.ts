import type { Provider, Type } from '@nestjs/common';
import { ConnectorAdminStore } from '../persistence/connector-admin.store.js';
import { QueueHealthStore } from '../persistence/queue-health.store.js';
import { RetentionStore } from '../persistence/retention.store.js';
import { TaskQueryStore } from '../persistence/task-query.store.js';
import { BusHealth } from './health/bus-health.service.js';
import { IntegrationBusHealthIndicator } from './health/integration-bus-health.indicator.js';
import { AccessController } from './controllers/access.controller.js';
import { AdminPageController } from './controllers/admin-page.controller.js';
import { ConnectorsController } from './controllers/connectors.controller.js';
import { DocsController } from './controllers/docs.controller.js';
import { EventLogController } from './controllers/event-log.controller.js';
import { HealthController } from './controllers/health.controller.js';
import { IncomingController } from './controllers/incoming.controller.js';
import { MetricsController } from './controllers/metrics.controller.js';
import { NotifyController } from './controllers/notify.controller.js';
import { OverviewController } from './controllers/overview.controller.js';
import { RetentionController } from './controllers/retention.controller.js';
import { ResyncController } from './controllers/resync.controller.js';
import { OverviewService } from './overview/overview.service.js';
import { ThroughputRecorder } from './overview/throughput-recorder.js';
import { IntegrationBusRetention } from './retention/retention.service.js';
import { SettingsController } from './controllers/settings.controller.js';
import { TasksController } from './controllers/tasks.controller.js';
import { AdminTokenGuard } from './guards/admin-token.guard.js';
import { NotifyTokenGuard } from './guards/notify-token.guard.js';
import { managementRoutesProvider } from './management-routes.js';
import { BusMetrics } from './metrics/bus-metrics.service.js';
import { ResyncMetrics } from './metrics/resync-metrics.js';
import { ConnectorManagementService } from './services/connector-management.service.js';
import { IncomingIntakeService } from './services/incoming-intake.service.js';
import { TaskManagementService } from './services/task-management.service.js';
import { RequestParseErrors } from './validation/request-parse-errors.js';

/**
 * Controllers of the management API and admin page, and the notify and incoming endpoints external
 * systems call, mounted under `/{http.path}`.
 */
export const MANAGEMENT_CONTROLLERS: Type[] = [
  AccessController,
  ConnectorsController,
  ResyncController,
  TasksController,
  SettingsController,
  EventLogController,
  HealthController,
  MetricsController,
  OverviewController,
  RetentionController,
  DocsController,
  AdminPageController,
  NotifyController,
  IncomingController,
];

/** Providers of the management API; `moduleClass` is the module the controllers are declared in. */
export function managementProviders(moduleClass: () => Type): Provider[] {
  return [
    managementRoutesProvider(moduleClass),
    TaskQueryStore,
    ConnectorAdminStore,
    ConnectorManagementService,
    TaskManagementService,
    IncomingIntakeService,
    BusMetrics,
    ResyncMetrics,
    QueueHealthStore,
    BusHealth,
    IntegrationBusHealthIndicator,
    ThroughputRecorder,
    OverviewService,
    RetentionStore,
    IntegrationBusRetention,
    AdminTokenGuard,
    NotifyTokenGuard,
    RequestParseErrors,
  ];
}
