import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  BaseIntegrationConnector,
  Connector,
  ExternalObjectError,
  IntegrationEvents,
  IntegrationTaskEvent,
  TaskType,
  type ExternalId,
} from 'nestjs-integration-bus';
import { useManagementApp } from '../management/management-app.js';
import { Site, User } from '../support/entities.js';

/** A person as the test's external systems send it; their own ids for sites. */
export interface ExternalPerson {
  login?: unknown;
  mail?: string;
  siteId?: number;
  /** `true`: the connector decides there is nothing to import (`prepareInternalObject` → null). */
  skip?: boolean;
}

/** The external systems' ids of the sites they share with the app, by the sites' code names. */
const EXTERNAL_SITES = new Map<number, string>([[701, 'HttpSite']]);

/** The incoming half of a CRM-like connector: people become `User`s. */
abstract class PeopleConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User | null {
    const person = obj as ExternalPerson;
    if (person.skip) return null;
    if (typeof person.login !== 'string' || person.login === '') {
      throw new ExternalObjectError('login', 'is required: the user name of the person.');
    }
    const user = new User();
    user.userName = person.login;
    user.email = person.mail ?? null;
    if (person.siteId !== undefined) user.site = Object.assign(new Site(), { id: person.siteId });
    return user;
  }

  override getInternalObjectParams(id: ExternalId) {
    const codeName = EXTERNAL_SITES.get(Number(id));
    return codeName ? { codeName } : null;
  }
}

/** Incoming connector `Crm`. */
@Connector('Crm')
export class CrmInConnector extends PeopleConnector {}

/** Incoming connector `Erp`: a second queue, to see that a connector name is honoured. */
@Connector('Erp')
export class ErpInConnector extends PeopleConnector {}

/**
 * What the tests do to incoming processing and logging through events: hold processing at a gate
 * (to see that `notify` answers before processing), make it throw, or cancel logging.
 */
export const control = {
  gate: undefined as Promise<void> | undefined,
  throwOnProcess: false,
  cancelLogging: false,
};

/** Closes the gate; the returned function opens it. */
export function closeGate(): () => void {
  let open!: () => void;
  control.gate = new Promise<void>((resolve) => (open = resolve));
  return () => {
    control.gate = undefined;
    open();
  };
}

@Injectable()
class ControlListener {
  // suppressErrors: false, so that a throw reaches the bus (the default would only log it).
  @OnEvent(IntegrationEvents.ProcessExternalTask.Before, { suppressErrors: false })
  async process(): Promise<void> {
    await control.gate;
    if (control.throwOnProcess) throw new Error('A ProcessExternalTask.Before listener failed on purpose.');
  }

  @OnEvent(IntegrationEvents.LogExternalTask.Before)
  log(event: IntegrationTaskEvent): void {
    if (control.cancelLogging) event.cancel();
  }
}

/** A management app (real HTTP, admin and notify tokens) with the two incoming connectors. */
export function useIncomingHttpApp() {
  return useManagementApp({ providers: [CrmInConnector, ErpInConnector, ControlListener] });
}

/** Logs a person for a connector straight through the bus, as a producer would. */
export function logPerson(
  t: ReturnType<typeof useIncomingHttpApp>['t'],
  connectorName: string,
  login: string,
): Promise<unknown> {
  return t.bus.processExternalTask(connectorName, { login }, { taskType: TaskType.CreateObject });
}
