import { Inject, Injectable } from '@nestjs/common';
import { RabbitMqTaskConsumer } from 'nestjs-integration-bus';
import { DEMO_BROKERS, type DemoBrokers } from './demo-brokers.js';

/**
 * The ERP's answers (RabbitMQ queue `demo.erp.replies`), each an incoming task of `ErpBroker`,
 * acknowledged once logged; the message id is the idempotency key, so an answer sent twice updates
 * once.
 */
@Injectable()
export class ErpRepliesConsumer extends RabbitMqTaskConsumer {
  constructor(@Inject(DEMO_BROKERS) brokers: DemoBrokers) {
    super({
      connectorName: 'ErpBroker',
      url: brokers.rabbitMqUrl,
      queue: brokers.replyQueue,
      retryDelayMs: 1_000,
    });
  }
}
