import { AbstractIntegrationSubscription } from './abstract-integration-subscription.js';
import {
  DocumentIntegrationSubscription,
  type DocumentSubscriptionOptions,
} from './document-integration-subscription.js';
import {
  ObjectIntegrationSubscription,
  type ObjectSubscriptionOptions,
} from './object-integration-subscription.js';

/** A subscription as `@Subscribe` and `subscribeTo` accept it: options for objects or documents, or an instance. */
export type SubscriptionInput =
  | (ObjectSubscriptionOptions & { document?: false })
  | (DocumentSubscriptionOptions & { document: true })
  | AbstractIntegrationSubscription;

/** Turns any accepted form into a subscription instance. */
export function toSubscription(input: SubscriptionInput): AbstractIntegrationSubscription {
  if (input instanceof AbstractIntegrationSubscription) return input;
  if (!input || typeof input !== 'object') {
    throw new TypeError('A subscription must be an options object or a subscription instance.');
  }
  if (input.document === true) return new DocumentIntegrationSubscription(input);
  return new ObjectIntegrationSubscription(input);
}
