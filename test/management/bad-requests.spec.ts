import { describe, expect, it } from 'vitest';
import { BaseIntegrationConnector, Connector, ExternalObjectError } from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { NOTIFY_TOKEN, useManagementApp } from './management-app.js';

// Issue 19: 6 of 145 answers 400 of a chaos run named no field: malformed JSON, which the host's
// body parser refuses before any route runs, and path parameters Express cannot percent-decode.
// Every 400 of the API names its field (R-SEC-3).

const log: CallLog = [];
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], log);

@Connector('Inbox')
class InboxConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User {
    const { login } = obj as { login?: unknown };
    if (typeof login !== 'string') throw new ExternalObjectError('login', 'must be a string.');
    return Object.assign(Object.create(User.prototype) as User, { userName: login });
  }
}

const { t, http } = useManagementApp({ providers: [crm.provider, InboxConnector] });

/**
 * A bad request: method, path under `/integration`, body (raw text is sent as is), and the field
 * its answer must name.
 */
interface BadRequest {
  method: string;
  path: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  field: string;
}

const MALFORMED = '{"codeName": "Erp",}';
const INCOMING = '/connectors/Inbox/incoming';

const BAD_REQUESTS: BadRequest[] = [
  // Malformed JSON, refused by the body parser before the route: on admin and notify routes alike.
  { method: 'POST', path: '/connectors', body: MALFORMED, field: 'body' },
  { method: 'PATCH', path: '/connectors/Crm', body: '{"enabled": fals}', field: 'body' },
  { method: 'PATCH', path: '/settings', body: '{', field: 'body' },
  { method: 'POST', path: '/tasks/synchronize', body: "{'direction':'outgoing'}", field: 'body' },
  { method: 'POST', path: '/tasks/1/synchronize', body: '{"connectorName":"Crm"', field: 'body' },
  { method: 'POST', path: '/notify', body: '{]', token: NOTIFY_TOKEN, field: 'body' },
  { method: 'POST', path: INCOMING, body: '{"object":{"login":"x"},}', token: NOTIFY_TOKEN, field: 'body' },
  // A body that does not inflate as its Content-Encoding says.
  {
    method: 'PATCH',
    path: '/settings',
    body: '{"enabled":false}',
    headers: { 'content-encoding': 'gzip' },
    field: 'body',
  },
  // JSON the parser's strict mode refuses: a top level other than an object or an array.
  { method: 'POST', path: '/connectors', body: '"Erp"', field: 'body' },
  { method: 'PATCH', path: '/settings', body: 'true', field: 'body' },
  { method: 'POST', path: '/tasks/delete', body: '42', field: 'body' },
  // Path parameters that are not percent-encoded UTF-8, refused by Express's router.
  { method: 'GET', path: '/tasks/%FF', field: 'id' },
  { method: 'POST', path: '/tasks/%E0%A4%A/synchronize', field: 'id' },
  { method: 'DELETE', path: '/tasks/%C0', field: 'id' },
  { method: 'PATCH', path: '/connectors/%FF', body: { enabled: false }, field: 'codeName' },
  { method: 'GET', path: '/connectors/Crm%FF/partitions', field: 'codeName' },
  { method: 'POST', path: '/connectors/%FF/incoming', body: {}, token: NOTIFY_TOKEN, field: 'codeName' },
  // What the routes check themselves, kept naming their field.
  { method: 'GET', path: '/tasks/abc', field: 'id' },
  { method: 'POST', path: '/tasks/0/requeue', field: 'id' },
  { method: 'GET', path: '/tasks?cursor=bm90LWEtY3Vyc29y', field: 'cursor' },
  { method: 'GET', path: '/event-log?cursor=%25', field: 'cursor' },
  { method: 'GET', path: '/overview?minutes=0', field: 'minutes' },
  { method: 'POST', path: '/tasks/delete', body: { direction: 'outgoing', ids: [1, 'x'] }, field: 'ids[1]' },
  { method: 'POST', path: '/connectors', body: [], field: 'body' },
  { method: 'PATCH', path: '/settings', body: { enabled: 'yes' }, field: 'enabled' },
  {
    method: 'POST',
    path: INCOMING,
    body: { object: { login: 'x' }, taskType: 'DELETEDOC' },
    token: NOTIFY_TOKEN,
    field: 'taskType',
  },
  {
    method: 'POST',
    path: INCOMING,
    body: { object: { login: 7 }, taskType: 'CREATEOBJ' },
    token: NOTIFY_TOKEN,
    field: 'object.login',
  },
  {
    method: 'POST',
    path: INCOMING,
    body: { object: { login: 'x' }, taskType: 'CREATEOBJ' },
    token: NOTIFY_TOKEN,
    headers: { 'idempotency-key': 'two words' },
    field: 'Idempotency-Key',
  },
];

describe('every 400 names its field (issue 19)', () => {
  it('answers each bad request with 400, a field and a message that starts with it, and writes nothing', async () => {
    const before = await t.sql(`select count(*)::int as tasks from integration_task`);
    for (const { method, path, body, token, headers, field } of BAD_REQUESTS) {
      const answer = await http(method, path, { body, token, headers });
      const request = `${method} ${path}`;
      expect({ request, status: answer.status, field: answer.body?.field }).toEqual({
        request,
        status: 400,
        field,
      });
      expect(typeof answer.body.message).toBe('string');
      expect(answer.body.message.startsWith(`${field} `)).toBe(true);
    }
    expect(await t.sql(`select count(*)::int as tasks from integration_task`)).toEqual(before);
    expect(await t.sql(`select code_name from integration_connector where code_name = 'Erp'`)).toEqual([]);
  });

  it('says what is wrong with the body', async () => {
    const malformed = await http('POST', '/connectors', { body: MALFORMED });
    expect(malformed.body.message).toMatch(/^body is not valid JSON: .+/);
    const scalar = await http('POST', '/connectors', { body: '"Erp"' });
    expect(scalar.body.message).toBe('body must be a JSON object.');
    const undecodable = await http('GET', '/tasks/%FF');
    expect(undecodable.body.message).toBe(
      'id must be percent-encoded UTF-8 (as encodeURIComponent writes it), got "%FF".',
    );
  });
});
