import { beforeAll, describe, expect, it } from 'vitest';
import { BaseIntegrationConnector, Connector } from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ADMIN_TOKEN, createUsers, NOTIFY_TOKEN, useManagementApp } from './management-app.js';

// Issue 19: the API took application/x-www-form-urlencoded bodies, which a cross-site HTML form
// sends without a CORS preflight. A body must be JSON; anything else is a 415 and writes nothing.

const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);

@Connector('Inbox')
class InboxConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User {
    return Object.assign(Object.create(User.prototype) as User, {
      userName: String((obj as { login?: unknown }).login),
    });
  }
}

const { t, http } = useManagementApp({ providers: [crm.provider, InboxConnector] });

/**
 * A form body per state-changing route, each one the route would act on if it read it: without the
 * check, most of them write.
 */
const FORM_BODIES: Readonly<Record<string, string>> = {
  'POST /connectors': 'codeName=Mallory',
  'PATCH /connectors/{codeName}': 'enabled=false',
  'DELETE /connectors/{codeName}': 'confirm=true',
  'POST /tasks/synchronize': 'direction=outgoing&all=true',
  'POST /tasks/requeue': 'direction=outgoing&all=true',
  'POST /tasks/delete': 'direction=outgoing&all=true',
  'POST /tasks/{id}/synchronize': 'connectorName=Crm',
  'POST /tasks/{id}/requeue': 'connectorName=Crm',
  'DELETE /tasks/{id}': 'connectorName=Crm',
  'PATCH /settings': 'enabled=false',
  'POST /retention/prune': 'now=true',
  'POST /notify': 'connectorName=Inbox',
  'POST /connectors/{codeName}/incoming': 'taskType=CREATEOBJ&object[login]=mallory',
  'POST /connectors/{codeName}/resync': 'objectType=cms.user',
  'POST /connectors/{codeName}/resync/cancel': 'objectType=cms.user',
};

/** The operations of the OpenAPI document: method, path under `/integration`, and its token. */
interface Operation {
  method: string;
  path: string;
  token: string;
}

let operations: Operation[];
let taskId: number;

beforeAll(async () => {
  const document = await http('GET', '/docs/openapi.json');
  const paths = document.body.paths as Record<string, Record<string, { security?: object[] }>>;
  operations = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path: path.replace(/^\/integration/, ''),
      token: JSON.stringify(operation.security ?? []).includes('notify-token') ? NOTIFY_TOKEN : ADMIN_TOKEN,
    })),
  );
  await createUsers(t, ['ann', 'bob']);
  const [task] = await t.sql<{ id: string }>(`select min(id) as id from integration_task`);
  taskId = Number(task!.id);
  // A row no provider loads: the one connector DELETE would remove.
  await t.sql(`insert into integration_connector (code_name, display_name, class_name, enabled)
               values ('Legacy', 'Legacy', 'LegacyConnector', true)`);
});

/** Everything a state-changing route could write. */
async function written(): Promise<unknown> {
  return {
    connectors: await t.sql(`select * from integration_connector order by id`),
    settings: await t.sql(`select * from integration_setting order by key`),
    tasks: await t.sql(`select * from integration_task order by id`),
    synchronizations: await t.sql(`select * from ${ALL_SYNCHRONIZATIONS_SQL} s order by 1, 2`),
    calls: log.length,
  };
}

/** The URL of an operation on the fixture's rows. */
function urlOf({ method, path }: Operation): string {
  return path
    .replace('{id}', String(taskId))
    .replace('{codeName}', path.endsWith('/incoming') ? 'Inbox' : method === 'DELETE' ? 'Legacy' : 'Crm');
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('bodies that are not JSON (issue 19)', () => {
  it('answers 415 naming Content-Type on every POST, PATCH and DELETE route, and writes nothing', async () => {
    const changing = operations.filter((operation) => operation.method !== 'GET');
    expect(changing.map(({ method, path }) => `${method} ${path}`).sort()).toEqual(
      Object.keys(FORM_BODIES).sort(),
    );
    const before = await written();
    for (const operation of changing) {
      const route = `${operation.method} ${operation.path}`;
      const answer = await http(operation.method, urlOf(operation), {
        token: operation.token,
        body: FORM_BODIES[route],
        headers: FORM,
      });
      expect({ route, status: answer.status, field: answer.body?.field }).toEqual({
        route,
        status: 415,
        field: 'Content-Type',
      });
      expect(answer.body.message).toContain('Content-Type: application/json');
    }
    expect(await written()).toEqual(before);
  });

  it('refuses text/plain, and a body without Content-Type, the same way', async () => {
    const before = await written();
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': '' }]) {
      const answer = await http('PATCH', '/settings', { body: '{"enabled":false}', headers });
      expect({ headers, status: answer.status, field: answer.body.field }).toEqual({
        headers,
        status: 415,
        field: 'Content-Type',
      });
    }
    expect(await written()).toEqual(before);
  });

  it('asks for the token before looking at the body', async () => {
    const answer = await http('PATCH', '/settings', { token: null, body: 'enabled=false', headers: FORM });
    expect(answer.status).toBe(401);
  });

  it('still takes JSON with a charset, and no body where the body is optional', async () => {
    const json = await http('PATCH', '/connectors/Crm', {
      body: '{"displayName":"CRM"}',
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    });
    expect(json.status).toBe(200);
    expect((await http('POST', `/tasks/${taskId}/requeue`)).status).toBe(200);
    // An empty form (Content-Length: 0) carries no body to refuse.
    expect((await http('POST', `/tasks/${taskId}/requeue`, { body: '', headers: FORM })).status).toBe(200);
    expect((await http('POST', '/notify', { token: NOTIFY_TOKEN })).status).toBe(202);
    expect((await http('POST', `/tasks/${taskId}/synchronize`)).status).toBe(200);
  });
});
