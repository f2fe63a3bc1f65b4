import { SUBSCRIBE_METADATA } from '../integration-bus.constants.js';
import { toSubscription, type SubscriptionInput } from '../subscriptions/subscription-input.js';
import type { AbstractIntegrationSubscription } from '../subscriptions/abstract-integration-subscription.js';

/**
 * Subscribes a connector to changes. On the class, matching tasks go to `processInternalTaskAsync`
 * (or `processInternalTaskSync` for `SyncSnapshot`); on a method, they go to that method.
 * May be repeated.
 */
export function Subscribe(subscription: SubscriptionInput): ClassDecorator & MethodDecorator {
  const instance = toSubscription(subscription);
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = descriptor ? (descriptor.value as object) : target;
    const existing = (Reflect.getOwnMetadata(SUBSCRIBE_METADATA, holder) ??
      []) as AbstractIntegrationSubscription[];
    // Decorators apply bottom-up; unshift keeps the written order, which breaks priority ties (R-OUT-3).
    Reflect.defineMetadata(SUBSCRIBE_METADATA, [instance, ...existing], holder);
  };
}
