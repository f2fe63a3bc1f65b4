import { afterEach, describe, expect, it } from 'vitest';
import { BaseIntegrationConnector, Connector, InvalidConnectorError } from 'nestjs-integration-bus';
import { withBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { ADMIN_TOKEN, NOTIFY_TOKEN, useManagementApp } from './management-app.js';

// Issue 11, item 14: a deeply nested body is a 400, not a 500; connector code names that are
// object-prototype names or differ from another only in case are refused.

@Connector('Crm')
class CrmConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User {
    return Object.assign(Object.create(User.prototype) as User, {
      userName: String((obj as { login?: unknown }).login),
    });
  }
}

const { t, http } = useManagementApp({ providers: [CrmConnector] });

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_connector where code_name <> 'Crm'`);
});

function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe('deeply nested JSON (item 14)', () => {
  it('answers 400 naming the body, on the notify-token ingest route and on admin routes, and logs nothing', async () => {
    for (const [path, token, body] of [
      [
        '/connectors/Crm/incoming',
        NOTIFY_TOKEN,
        `{"taskType":"CREATEOBJ","object":{"login":"x"},"siteName":${nested(5000)}}`,
      ],
      ['/connectors/Crm/incoming', NOTIFY_TOKEN, `{"taskType":${nested(5000)},"object":{}}`],
      [
        '/connectors/Crm/incoming',
        NOTIFY_TOKEN,
        `{"taskType":"CREATEOBJ","object":{"login":${nested(5000)}}}`,
      ],
      ['/tasks/synchronize', ADMIN_TOKEN, `{"direction":"outgoing","ids":${nested(5000)}}`],
      ['/connectors', ADMIN_TOKEN, nested(5000)],
    ] as const) {
      const answer = await http('POST', path, { token, body });
      expect({ path, status: answer.status, field: answer.body?.field }).toEqual({
        path,
        status: 400,
        field: 'body',
      });
    }
    expect(await t.sql(`select id from integration_task`)).toEqual([]);
  });
});

describe('connector code names (item 14)', () => {
  it('refuses __proto__, constructor and the like, and a code name differing from another only in case', async () => {
    for (const codeName of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty']) {
      const answer = await http('POST', '/connectors', { body: { codeName } });
      expect({ codeName, status: answer.status }).toEqual({ codeName, status: 400 });
      expect(answer.body.field).toBe('codeName');
    }
    const clash = await http('POST', '/connectors', { body: { codeName: 'CRM' } });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toContain('"Crm"');
    const unknown = await http('POST', '/connectors/__proto__/incoming', {
      token: NOTIFY_TOKEN,
      body: { object: { login: 'x' }, taskType: 'CREATEOBJ' },
    });
    expect(unknown.status).toBe(404);
    expect(
      (await t.sql<{ code_name: string }>(`select code_name from integration_connector order by id`)).map(
        (r) => r.code_name,
      ),
    ).toEqual(['Crm']);
  });

  it('fails at start-up on two connectors whose code names differ only in case, or on a reserved one', async () => {
    @Connector('Erp')
    class ErpConnector extends BaseIntegrationConnector {}
    @Connector('ERP')
    class ErpShoutingConnector extends BaseIntegrationConnector {}
    await expect(
      withBusApp({ providers: [ErpConnector, ErpShoutingConnector] }, async () => undefined),
    ).rejects.toThrow(InvalidConnectorError);
    @Connector('__proto__')
    class ProtoConnector extends BaseIntegrationConnector {}
    await expect(withBusApp({ providers: [ProtoConnector] }, async () => undefined)).rejects.toThrow(
      /reserved/,
    );
  });
});
