import { Inject, Injectable } from '@nestjs/common';
import { RabbitMqTaskConsumer } from 'nestjs-integration-bus';
import { DEMO_BROKERS, type DemoBrokers } from './demo-brokers.js';

/**
 * The ERP's answers (RabbitMQ queue `demo.erp.replies`), each an incoming task of `ErpBroker`,
 * acknowledged once logged; the message id is the idempotency key, so an answer sent twice updates
 * once. With `applyAtOnce` (`npm run demo`) each answer is applied as soon as it is logged rather
 * than at the incoming schedule's next run, so that a newcomer sees the round trip end within a second.
 */
@Injectable()
export class ErpRepliesConsumer extends RabbitMqTaskConsumer {
  constructor(@Inject(DEMO_BROKERS) private readonly brokers: DemoBrokers) {
    super({
      connectorName: 'ErpBroker',
      url: brokers.rabbitMqUrl,
      queue: brokers.replyQueue,
      retryDelayMs: 1_000,
    });
  }

  protected override afterTaskLogged(): void {
    if (!this.brokers.applyAtOnce) return;
    // Not awaited: the message is acknowledged now; a failed run is logged by the bus and its task
    // stays queued for the schedule.
    void this.bus.processIncomingTasks('ErpBroker').catch(() => undefined);
  }
}
