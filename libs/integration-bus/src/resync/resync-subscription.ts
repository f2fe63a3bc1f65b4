import type { RegisteredSubscription } from '../connectors/connector-runtime.js';
import { TaskType } from '../enums/task-type.enum.js';
import { DocumentIntegrationSubscription } from '../subscriptions/document-integration-subscription.js';
import { ObjectIntegrationSubscription } from '../subscriptions/object-integration-subscription.js';
import { matchesWildcard } from '../subscriptions/wildcard.js';
import type { ResyncTarget } from './resync-target.js';

/**
 * Whether a subscription may match rows of the target with the resync's task type: what the type
 * and task type decide, before any row is read. The rest (site, code name, alias path, culture) is
 * decided per row; a custom subscription (`AbstractIntegrationSubscription`) is asked per row only.
 */
export function mayMatch(registered: RegisteredSubscription, target: ResyncTarget): boolean {
  const { subscription } = registered;
  if (subscription.taskType !== TaskType.All && subscription.taskType !== target.taskType) return false;
  const isDocument = target.descriptor.isDocument;
  if (subscription instanceof ObjectIntegrationSubscription) {
    return !isDocument && matchesWildcard(subscription.objectType, target.objectType);
  }
  if (subscription instanceof DocumentIntegrationSubscription) {
    return isDocument && matchesWildcard(subscription.className, target.objectType);
  }
  // A site-only subscription matches both kinds; a custom one is asked per row.
  return true;
}
