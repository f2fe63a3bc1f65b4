import {
  BaseIntegrationConnector,
  Connector,
  ExternalObjectError,
  TaskDataType,
  type ExternalId,
  type InternalObjectParams,
  type PrepareInternalObjectContext,
} from 'nestjs-integration-bus';
import { Site } from '../cms/site.entity.js';
import { User } from '../cms/user.entity.js';
import { CRM_SITES } from './crm-sites.js';

/** A person (a contact) as the fake CRM sends it: its own numeric ids for sites. */
export interface CrmPerson {
  /** The person's login: becomes the demo user's code name (`userName`). */
  login: string;
  /** Absent: left as it is by an update; `null`: cleared. The same for the names. */
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  /** The CRM's id of the person's site (see `CRM_SITES`); absent or `null` for a global user. */
  siteId?: number | null;
}

/** A checked `CrmPerson`: the site id is `null` for a global user. */
type CheckedPerson = Omit<CrmPerson, 'siteId'> & { siteId: number | null };

/** What the CRM may put in a login: the demo's code-name characters (e-mail addresses included). */
const LOGIN = /^[A-Za-z0-9_.@-]{1,100}$/;
/** A deliberately loose e-mail check, as the demo's API does: one `@`, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * The incoming direction of the demo (reference 001, "Implementation of inbound direction"): a fake
 * CRM sends people, which become the demo's users. People arrive two ways (R-IN-6): over HTTP,
 * `POST /integration/connectors/CrmConnector/incoming` in the running demo, or from the producer
 * (`apps/producer`), a separate process that logs them straight into the shared database, even
 * while the demo is stopped. Either way they wait in the incoming queue until the scheduled job
 * "Process external integration tasks", a notify request, or a click in the admin page processes
 * them.
 *
 * - `prepareInternalObject` checks a `CrmPerson` and turns it into a `User`: the login is the user
 *   name, and the site relation holds the CRM's site id, a foreign key in the CRM's terms.
 * - `getInternalObjectParams` says which demo site a CRM site id means, by code name (`CRM_SITES`),
 *   so processing finds the local site. That needs translation data, so a person with a site must
 *   be sent as `SIMPLESNAPSHOT` (the producer's default).
 *
 * The CRM knows nothing of roles, so it does not send `SNAPSHOT` tasks: their (empty) children
 * would replace the user's roles. It subscribes to nothing outgoing: it only feeds the demo.
 */
@Connector('CrmConnector', { displayName: 'CRM (incoming people)' })
export class CrmConnector extends BaseIntegrationConnector {
  /**
   * A `CrmPerson` as a detached `User` whose `site` holds the CRM's site id; rejects a malformed
   * person with an `ExternalObjectError` naming the field (a 400 over HTTP).
   */
  override prepareInternalObject(obj: unknown, context: PrepareInternalObjectContext): User {
    const person = readPerson(obj);
    if (context.dataType === TaskDataType.Snapshot) {
      throw new ExternalObjectError(
        null,
        'cannot be sent as SNAPSHOT: the CRM sends no roles, and a Snapshot task replaces the ' +
          "user's roles with the ones it carries. Use SIMPLESNAPSHOT.",
      );
    }
    if (person.siteId !== null && context.dataType === TaskDataType.Simple) {
      throw new ExternalObjectError(
        'siteId',
        'needs dataType SIMPLESNAPSHOT: a SIMPLE task carries no translation data, so the CRM site id could not be turned into a demo site.',
      );
    }
    // Built without the constructor, so that what the CRM does not send (createdAt, roles, a field
    // left out of the person) stays unset: an UpdateObject task then leaves it as it is.
    const user = Object.create(User.prototype) as User;
    user.userName = person.login;
    if (person.email !== undefined) user.email = person.email;
    if (person.firstName !== undefined) user.firstName = person.firstName;
    if (person.lastName !== undefined) user.lastName = person.lastName;
    // The foreign key in the CRM's terms: the CRM's site id. The name is only for the task's
    // title and site column; processing looks the site up by the code name of getInternalObjectParams.
    user.site =
      person.siteId === null
        ? null
        : Object.assign(Object.create(Site.prototype) as Site, {
            id: person.siteId,
            name: CRM_SITES.get(person.siteId),
          });
    return user;
  }

  /** The demo site a CRM site id stands for, by code name; `null` for an id the table lacks. */
  override getInternalObjectParams(id: ExternalId, objectType: string): InternalObjectParams | null {
    if (objectType !== 'cms.site') return null;
    const codeName = CRM_SITES.get(Number(id));
    return codeName ? { codeName } : null;
  }
}

/** Checks an external object as a `CrmPerson`, naming the first bad field. */
function readPerson(obj: unknown): CheckedPerson {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ExternalObjectError(null, 'must be a JSON object describing a CRM person.');
  }
  const person = obj as Record<string, unknown>;
  if (typeof person.login !== 'string' || !LOGIN.test(person.login)) {
    throw new ExternalObjectError(
      'login',
      person.login === undefined || person.login === null
        ? 'is required.'
        : "must be 1 to 100 letters, digits, '_', '.', '-' or '@'.",
    );
  }
  const email = optionalString(person, 'email', 254);
  if (typeof email === 'string' && !EMAIL.test(email))
    throw new ExternalObjectError('email', 'must be an e-mail address.');
  let siteId: number | null = null;
  if (person.siteId !== undefined && person.siteId !== null) {
    if (typeof person.siteId !== 'number' || !CRM_SITES.has(person.siteId)) {
      throw new ExternalObjectError(
        'siteId',
        `must be the CRM id of a site the demo knows (${[...CRM_SITES.keys()].join(', ')}), got ${JSON.stringify(person.siteId)}.`,
      );
    }
    siteId = person.siteId;
  }
  return {
    login: person.login,
    email,
    firstName: optionalString(person, 'firstName', 100),
    lastName: optionalString(person, 'lastName', 100),
    siteId,
  };
}

/** A string field that may be absent (`undefined`) or `null`. */
function optionalString(
  person: Record<string, unknown>,
  field: string,
  max: number,
): string | null | undefined {
  const value = person[field];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || value.length > max) {
    throw new ExternalObjectError(field, `must be a string of at most ${max} characters.`);
  }
  return value;
}
