import type { Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  NatsJetStreamRelayConnector,
  RabbitMqRelayConnector,
  Subscribe,
  TaskProcessType,
} from 'nestjs-integration-bus';

/** Where a bench relay publishes. */
export type RelayTarget = (
  | { broker: 'nats'; servers: string; subjectPrefix: string; stream: string }
  | { broker: 'rabbitmq'; url: string; exchange: string }
) & {
  /** Tasks per call: above 1 the relay publishes each batch pipelined (R-EXT-1). @default 1 */
  maxBatchSize?: number;
};

/**
 * A relay connector subscribed to `bench.user` like the no-op ones (so the seeded queue is its),
 * publishing each task to the broker and answering OK once it is confirmed.
 */
export function relayConnector(codeName: string, target: RelayTarget): Type<BaseIntegrationConnector> {
  const options = { maxBatchSize: target.maxBatchSize ?? 1 };
  if (target.broker === 'nats') {
    const nats = target;
    @Connector(codeName, options)
    @Subscribe({ objectType: 'bench.user', processType: TaskProcessType.AsyncSimple })
    class BenchNatsRelay extends NatsJetStreamRelayConnector {
      constructor() {
        super({
          servers: nats.servers,
          subjectPrefix: nats.subjectPrefix,
          stream: { name: nats.stream },
        });
      }
    }
    return BenchNatsRelay;
  }
  const rabbit = target;
  @Connector(codeName, options)
  @Subscribe({ objectType: 'bench.user', processType: TaskProcessType.AsyncSimple })
  class BenchRabbitRelay extends RabbitMqRelayConnector {
    constructor() {
      super({ url: rabbit.url, exchange: rabbit.exchange });
    }
  }
  return BenchRabbitRelay;
}
