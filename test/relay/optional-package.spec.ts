import { describe, expect, it } from 'vitest';
import { MissingPeerDependencyError } from 'nestjs-integration-bus';
import { importOptionalPackage } from '../../libs/integration-bus/src/relay/optional-package.js';

describe('optional broker clients', () => {
  it('names the package to install when it is missing', async () => {
    const failure = importOptionalPackage('@nats-io/not-a-package', 'NatsJetStreamRelayConnector');
    await expect(failure).rejects.toThrow(MissingPeerDependencyError);
    await expect(failure).rejects.toThrow(
      'NatsJetStreamRelayConnector needs the npm package "@nats-io/not-a-package": npm install @nats-io/not-a-package',
    );
  });

  it('loads an installed one', async () => {
    const amqp = await importOptionalPackage<{ connect?: unknown }>('amqplib', 'RabbitMqRelayConnector');
    expect(typeof amqp.connect).toBe('function');
  });
});
