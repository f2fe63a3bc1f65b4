import { Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { BusMetrics } from '../metrics/bus-metrics.service.js';
import { AdminApiController } from './admin-api.decorator.js';

/** `GET /{path}/metrics`: Prometheus text format, admin token required. */
@AdminApiController('metrics')
export class MetricsController {
  constructor(private readonly metrics: BusMetrics) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOperation({ summary: 'Queue depth per connector and direction, processed and failed counts, latency' })
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
