import { Body, Controller, Module, Post, UseFilters } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  ExternalObjectError,
  IntegrationBus,
  IntegrationBusExceptionFilter,
  TaskType,
} from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { useManagementApp } from './management-app.js';

// Issue 24: an ExternalObjectError thrown from the host's own route was a 500; only the bus's ingest
// route answered it as a 400. The exported filter gives the host's routes the same answers.

@Connector('Inbox')
class InboxConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User {
    const { login } = obj as { login?: unknown };
    if (typeof login !== 'string') throw new ExternalObjectError('login', 'must be a string.');
    return Object.assign(Object.create(User.prototype) as User, { userName: login });
  }
}

/** What a host writes: its own route, calling the bus. */
async function addPerson(bus: IntegrationBus, connectorName: string, body: unknown) {
  const task = await bus.processExternalTask(connectorName, body, { taskType: TaskType.CreateObject });
  return { logged: task !== null };
}

@Controller('host/filtered')
@UseFilters(IntegrationBusExceptionFilter)
class FilteredController {
  constructor(private readonly bus: IntegrationBus) {}
  @Post()
  add(@Body() body: unknown) {
    return addPerson(this.bus, 'Inbox', body);
  }
}

@Controller('host/filtered-unknown')
@UseFilters(IntegrationBusExceptionFilter)
class UnknownConnectorController {
  constructor(private readonly bus: IntegrationBus) {}
  @Post()
  add(@Body() body: unknown) {
    return addPerson(this.bus, 'Nobody', body);
  }
}

@Controller('host/plain')
class PlainController {
  constructor(private readonly bus: IntegrationBus) {}
  @Post()
  add(@Body() body: unknown) {
    return addPerson(this.bus, 'Inbox', body);
  }
}

@Module({ controllers: [FilteredController, UnknownConnectorController, PlainController] })
class HostModule {}

const app = useManagementApp({ providers: [InboxConnector], imports: [HostModule] });

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('IntegrationBusExceptionFilter on the host’s own routes', () => {
  it('answers an ExternalObjectError with a 400 naming object.<field>, and nothing is logged', async () => {
    const res = await post('/host/filtered', { login: 42 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      field: 'object.login',
      message: expect.stringContaining('must be a string'),
    });
    const [tasks] = await app.t.sql<{ n: number }>(`select count(*)::int as n from integration_task`);
    expect(tasks!.n).toBe(0);
  });

  it('answers an unknown connector with a 404, and logs a valid object as usual', async () => {
    expect((await post('/host/filtered-unknown', { login: 'ann' })).status).toBe(404);
    expect(await post('/host/filtered', { login: 'ann' })).toMatchObject({
      status: 201,
      body: { logged: true },
    });
  });

  it('without the filter, the same error is Nest’s 500 (what the filter is for)', async () => {
    expect((await post('/host/plain', { login: 42 })).status).toBe(500);
  });
});
