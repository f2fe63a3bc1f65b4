import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { RESOLVED_OPTIONS } from '../../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../../interfaces/integration-bus-options.interface.js';
import type { ResyncProgress } from '../../resync/resync-progress.js';
import { ResyncService } from '../../resync/resync.service.js';
import { BusMetrics } from './bus-metrics.service.js';

/** The gauges of the running resyncs, and what each shows. */
const GAUGES: [name: string, help: string, value: (r: ResyncProgress) => number][] = [
  ['integration_bus_resync_rows_done', 'Rows a running resync has done (R-RES-1).', (r) => r.done],
  ['integration_bus_resync_rows_total', 'Rows a running resync has to do.', (r) => r.total],
  [
    'integration_bus_resync_rows_per_second',
    'Rows per second of a running resync, over its recent chunks; 0 before the first.',
    (r) => r.ratePerSecond ?? 0,
  ],
  [
    'integration_bus_resync_eta_seconds',
    'Seconds a running resync still needs at its rate; 0 when unknown.',
    (r) => r.etaSeconds ?? 0,
  ],
];

/**
 * The resync gauges (R-RES-1), `{connector, object_type}` per running resync, read from the
 * database at scrape time (every instance reports every resync, whoever runs it), added to the
 * bus's metrics registry (and the host's, with `metrics.registry`).
 */
@Injectable()
export class ResyncMetrics implements OnModuleInit {
  #running: Promise<ResyncProgress[]> | undefined;

  constructor(
    private readonly metrics: BusMetrics,
    private readonly resyncs: ResyncService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  onModuleInit(): void {
    const read = () => this.read();
    for (const [name, help, value] of GAUGES) {
      const gauge = new Gauge({
        name,
        help,
        labelNames: ['connector', 'object_type'],
        registers: [],
        async collect() {
          this.reset();
          for (const r of await read())
            this.set({ connector: r.connectorName, object_type: r.objectType }, value(r));
        },
      });
      this.metrics.registry.registerMetric(gauge);
      this.options.metrics.registry?.registerMetric(gauge);
    }
  }

  /** The gauges of one scrape (collected together) share one read. */
  private read(): Promise<ResyncProgress[]> {
    this.#running ??= this.resyncs.running().finally(() => (this.#running = undefined));
    return this.#running;
  }
}
