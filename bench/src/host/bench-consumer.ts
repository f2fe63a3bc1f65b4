import { Injectable, type Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  NatsJetStreamTaskConsumer,
  RabbitMqTaskConsumer,
} from 'nestjs-integration-bus';
import { BenchUser } from './bench-user.entity.js';

/** The connector whose incoming tasks the consumer scenario logs. */
export const INBOUND_CONNECTOR = 'Inbound1';

/** Where a bench consumer reads: a queue, or a stream (its durable consumer named `bench`). */
export type ConsumerSource =
  { broker: 'nats'; servers: string; stream: string } | { broker: 'rabbitmq'; url: string; queue: string };

/** A consumer whose start the scenario triggers itself (`go`), so that the app's start-up is not timed. */
export interface BenchConsumer {
  go(): Promise<void>;
}

/** An incoming connector: each message's object `{ userName, email }` becomes a `BenchUser`. */
@Connector(INBOUND_CONNECTOR)
export class InboundConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): BenchUser {
    const { userName, email } = obj as { userName: string; email: string };
    return Object.assign(new BenchUser(), { userName, email });
  }
}

/** The consumer class of `source`, with the library's default batch options, as a user would write it. */
export function benchConsumer(source: ConsumerSource): Type<BenchConsumer> {
  if (source.broker === 'nats') {
    const nats = source;
    @Injectable()
    class BenchNatsConsumer extends NatsJetStreamTaskConsumer implements BenchConsumer {
      constructor() {
        super({
          connectorName: INBOUND_CONNECTOR,
          servers: nats.servers,
          stream: nats.stream,
          consumer: 'bench',
        });
      }

      override onApplicationBootstrap(): Promise<void> {
        return Promise.resolve();
      }

      go(): Promise<void> {
        return super.onApplicationBootstrap();
      }
    }
    return BenchNatsConsumer;
  }
  const rabbit = source;
  @Injectable()
  class BenchRabbitConsumer extends RabbitMqTaskConsumer implements BenchConsumer {
    constructor() {
      super({ connectorName: INBOUND_CONNECTOR, url: rabbit.url, queue: rabbit.queue });
    }

    override onApplicationBootstrap(): Promise<void> {
      return Promise.resolve();
    }

    go(): Promise<void> {
      return super.onApplicationBootstrap();
    }
  }
  return BenchRabbitConsumer;
}
