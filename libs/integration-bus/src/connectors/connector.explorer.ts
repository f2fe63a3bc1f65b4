import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { CONNECTOR_METADATA, SUBSCRIBE_METADATA } from '../integration-bus.constants.js';
import { codeNameKey, reservedCodeNameProblem } from './connector-code-name.js';
import { InvalidConnectorError } from '../errors/invalid-connector.error.js';
import type { AbstractIntegrationSubscription } from '../subscriptions/abstract-integration-subscription.js';
import { BaseIntegrationConnector } from './base-integration-connector.js';
import type { ConnectorMetadata } from './connector.decorator.js';
import type { RegisteredSubscription } from './connector-runtime.js';
import { ConnectorRegistry, type DiscoveredConnector } from './connector-registry.js';

/**
 * Finds `@Connector` providers once at start-up and hands them to the registry. Declarations that
 * cannot work fail here, loudly, rather than at the first task.
 */
@Injectable()
export class ConnectorExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly registry: ConnectorRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.registry.initialize(this.explore());
  }

  /** Every connector provider of the application, validated. */
  explore(): DiscoveredConnector[] {
    const found: DiscoveredConnector[] = [];
    const byCodeName = new Map<string, { codeName: string; className: string }>();
    for (const wrapper of this.discovery.getProviders()) {
      const { metatype, instance } = wrapper;
      if (!metatype || typeof metatype !== 'function') continue;
      const metadata = this.reflector.get<ConnectorMetadata | undefined>(CONNECTOR_METADATA, metatype);
      const classSubscriptions = this.subscriptionsOn(metatype);
      if (!metadata) {
        if (classSubscriptions.length > 0) {
          throw new InvalidConnectorError(
            `${metatype.name} has @Subscribe() but no @Connector(): mark it as a connector.`,
          );
        }
        continue;
      }
      if (!wrapper.isDependencyTreeStatic()) {
        throw new InvalidConnectorError(
          `Connector ${metatype.name} must be a singleton provider, not request-scoped.`,
        );
      }
      if (!(instance instanceof BaseIntegrationConnector)) {
        throw new InvalidConnectorError(`Connector ${metatype.name} must extend BaseIntegrationConnector.`);
      }
      const reserved = reservedCodeNameProblem(metadata.codeName);
      if (reserved) throw new InvalidConnectorError(`Connector ${metatype.name}: its code name ${reserved}`);
      // Keyed case-insensitively: "Erp" and "ERP" would be one connector to an operator.
      const other = byCodeName.get(codeNameKey(metadata.codeName));
      if (other && other.className !== metatype.name) {
        throw new InvalidConnectorError(
          `Connectors ${other.className} ("${other.codeName}") and ${metatype.name} ("${metadata.codeName}") ` +
            'have the same code name, ignoring case; code names are unique.',
        );
      }
      if (other) continue; // the same provider registered in two modules
      byCodeName.set(codeNameKey(metadata.codeName), {
        codeName: metadata.codeName,
        className: metatype.name,
      });
      found.push({
        instance,
        metadata,
        subscriptions: [
          ...classSubscriptions.map((subscription) => ({ subscription })),
          ...this.methodSubscriptions(instance),
        ],
      });
    }
    return found;
  }

  private subscriptionsOn(target: object): AbstractIntegrationSubscription[] {
    return (Reflect.getOwnMetadata(SUBSCRIBE_METADATA, target) ?? []) as AbstractIntegrationSubscription[];
  }

  private methodSubscriptions(instance: BaseIntegrationConnector): RegisteredSubscription[] {
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    return this.scanner.getAllMethodNames(prototype).flatMap((handler) => {
      const method = prototype[handler];
      if (typeof method !== 'function') return [];
      return this.subscriptionsOn(method).map((subscription) => ({ subscription, handler }));
    });
  }
}
