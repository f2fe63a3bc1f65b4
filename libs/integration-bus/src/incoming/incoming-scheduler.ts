import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { IncomingProcessor } from './incoming-processor.js';

/** Name of the scheduled job, as in the original ("Process external integration tasks"). */
export const INCOMING_JOB_NAME = 'Process external integration tasks';

/**
 * Schedules incoming processing (R-IN-5) with `incoming.cron`. The job is registered in
 * `@nestjs/schedule`'s `SchedulerRegistry` when the host imports `ScheduleModule`, so it can be
 * listed, stopped or started like the host's own jobs; without it the job still runs.
 * `@nestjs/schedule` is an optional peer dependency: it is loaded only here, and only if installed.
 */
@Injectable()
export class IncomingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  #job: CronJob | undefined;
  private schedulerRegistry: SchedulerRegistry | undefined;

  constructor(
    private readonly processor: IncomingProcessor,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.incoming.enabled) return;
    this.schedulerRegistry = await this.findSchedulerRegistry();
    this.#job = CronJob.from({
      cronTime: this.options.incoming.cron,
      onTick: () => this.tick(),
      start: false,
    });
    if (this.schedulerRegistry && !this.schedulerRegistry.doesExist('cron', INCOMING_JOB_NAME)) {
      this.schedulerRegistry.addCronJob(INCOMING_JOB_NAME, this.#job);
    }
    this.#job.start();
  }

  onApplicationShutdown(): void {
    void this.#job?.stop();
    if (this.schedulerRegistry?.doesExist('cron', INCOMING_JOB_NAME))
      this.schedulerRegistry.deleteCronJob(INCOMING_JOB_NAME);
  }

  /** The host's `SchedulerRegistry`, when `@nestjs/schedule` is installed and `ScheduleModule` imported. */
  private async findSchedulerRegistry(): Promise<SchedulerRegistry | undefined> {
    let schedule: typeof import('@nestjs/schedule');
    try {
      schedule = await import('@nestjs/schedule');
    } catch {
      return undefined; // not installed: the job runs without the registry
    }
    try {
      return this.moduleRef.get(schedule.SchedulerRegistry, { strict: false });
    } catch {
      return undefined; // ScheduleModule not imported
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.processor.process();
    } catch (error) {
      this.#logger.error(`${INCOMING_JOB_NAME} failed: ${describeError(error)}`);
    }
  }
}
