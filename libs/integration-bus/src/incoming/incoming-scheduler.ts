import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
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
 */
@Injectable()
export class IncomingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  #job: CronJob | undefined;

  constructor(
    private readonly processor: IncomingProcessor,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    @Optional() private readonly schedulerRegistry?: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.incoming.enabled) return;
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

  private async tick(): Promise<void> {
    try {
      await this.processor.process();
    } catch (error) {
      this.#logger.error(`${INCOMING_JOB_NAME} failed: ${describeError(error)}`);
    }
  }
}
