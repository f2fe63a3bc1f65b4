import { Injectable } from '@nestjs/common';
import { BusHealth, type BusHealthReport, type HealthStatus } from './bus-health.service.js';

/** The details a bus health result carries under its key: the report without its status. */
export type IntegrationBusHealthDetails = Omit<BusHealthReport, 'status'>;

/**
 * A health indicator result in the shape of `@nestjs/terminus`' `HealthIndicatorResult`:
 * `{ [key]: { status: 'up' | 'down', ...details } }`.
 */
export type IntegrationBusHealthResult<Key extends string = string> = Record<
  Key,
  { status: HealthStatus } & IntegrationBusHealthDetails
>;

/**
 * A `@nestjs/terminus` health indicator for the bus (R-ECO-4): the database, the LISTEN connection,
 * and per connector and direction the oldest task's age, how long a failed head has blocked the
 * queue, the failed and parked counts and whether this instance holds the queue's lease; `down`
 * past the `health` thresholds of the module options.
 *
 * It needs nothing from Terminus at run time: it returns the result object Terminus' executor reads
 * (a `down` status marks the check failed, as `HealthIndicatorService.check(key).down()` does), so
 * an application without `@nestjs/terminus` can inject and call it too.
 *
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.bus.isHealthy('integrationBus')]);
 * }
 * ```
 */
@Injectable()
export class IntegrationBusHealthIndicator {
  constructor(private readonly health: BusHealth) {}

  /** Runs the bus's checks; the result is keyed by `key`. Never throws. */
  async isHealthy<const Key extends string = 'integrationBus'>(
    key: Key = 'integrationBus' as Key,
  ): Promise<IntegrationBusHealthResult<Key>> {
    const { status, ...details } = await this.health.check();
    return { [key]: { status, ...details } } as IntegrationBusHealthResult<Key>;
  }
}
