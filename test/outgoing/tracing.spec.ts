import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Controller, Module, Post, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IntegrationEvents,
  IntegrationProcessResult,
  TaskProcessType,
  type IntegrationTaskEvent,
} from 'nestjs-integration-bus';
import { listen, type HttpClient } from '../management/http-client.js';
import { useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { recordingConnector } from '../support/recording-connector.js';
import { recordSpans, type RecordedSpan } from '../support/recording-tracer.js';

const R = IntegrationProcessResult;
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], []);
/** Called synchronously, inside the flush; off until a test switches it on. */
const erp = recordingConnector(
  'Erp',
  [{ objectType: 'cms.user', processType: TaskProcessType.SyncSnapshot }],
  [],
  {
    enabled: false,
  },
);
const recorder = recordSpans();

/** A host endpoint that changes an entity, as an HTTP instrumentation would trace it. */
@Controller('users')
class UsersController {
  constructor(private readonly orm: MikroORM) {}

  @Post()
  async create(): Promise<{ ok: true }> {
    const em = this.orm.em.fork();
    em.create(User, { userName: 'traced' });
    await em.flush();
    return { ok: true };
  }
}

@Module({ controllers: [UsersController] })
class UsersModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // What @opentelemetry/instrumentation-http does: a SERVER span active for the whole request.
    consumer
      .apply((req: IncomingMessage, res: ServerResponse, next: () => void) => {
        recorder.tracer.startActiveSpan(`${req.method} /users`, { kind: SpanKind.SERVER }, (span) => {
          res.on('finish', () => span.end());
          next();
        });
      })
      .forRoutes(UsersController);
  }
}

const t = useBusApp({
  providers: [crm.provider, erp.provider],
  imports: [UsersModule],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});
let http: HttpClient;

beforeAll(async () => {
  http = await listen(t.app, null);
});

afterEach(async () => {
  crm.control.respond = () => R.OK;
  recorder.spans.length = 0;
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
});

afterAll(() => recorder.stop());

const named = (name: string): RecordedSpan[] => recorder.spans.filter((s) => s.name === name);

describe('OpenTelemetry (R-ECO-4)', () => {
  it('traces one change from the HTTP request through logging to the connector call, linked', async () => {
    expect((await http.request('POST', '/users')).status).toBe(201);
    const [request] = named('POST /users');
    const [create] = named('create cms.user');
    expect(request).toBeDefined();
    // The create span is a child of the request's span, in the same trace.
    expect(create).toMatchObject({
      kind: SpanKind.PRODUCER,
      parentSpanId: request!.context.spanId,
      context: { traceId: request!.context.traceId },
      ended: true,
      attributes: {
        'messaging.system': 'integration_bus',
        'messaging.operation.type': 'create',
        'messaging.destination.name': 'cms.user',
        'integration_bus.task.type': 'CREATEOBJ',
      },
    });
    // Its W3C context is stored with the task.
    const [task] = await t.sql<{ guid: string; trace_parent: string }>(
      `select guid, trace_parent from integration_task`,
    );
    expect(task!.trace_parent).toBe(`00-${create!.context.traceId}-${create!.context.spanId}-01`);
    expect(create!.attributes['messaging.message.id']).toBe(task!.guid);

    // Processed later, outside the request: a process span linked to the create span.
    await t.bus.processOutgoingTasks('Crm');
    const [process] = named('process Crm');
    expect(process).toMatchObject({
      kind: SpanKind.CONSUMER,
      ended: true,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'messaging.system': 'integration_bus',
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': 'Crm',
        'messaging.message.id': task!.guid,
        'integration_bus.direction': 'outgoing',
        'integration_bus.result': 'OK',
        'integration_bus.attempt': 1,
      },
    });
    expect(process!.links.map((l) => l.context)).toEqual([
      expect.objectContaining({ traceId: create!.context.traceId, spanId: create!.context.spanId }),
    ]);
    expect(process!.parentSpanId).toBeUndefined();
  });

  it('traces a synchronous connector call inside the request, as a child of its span', async () => {
    await t.bus.updateConnector('Erp', { enabled: true });
    try {
      await http.request('POST', '/users');
    } finally {
      await t.bus.updateConnector('Erp', { enabled: false });
    }
    const [request] = named('POST /users');
    const [sync] = named('process Erp');
    expect(sync).toMatchObject({
      kind: SpanKind.CONSUMER,
      parentSpanId: request!.context.spanId,
      context: { traceId: request!.context.traceId },
      ended: true,
      attributes: { 'messaging.consumer.group.name': 'Erp', 'integration_bus.result': 'OK' },
    });
    expect(sync!.attributes['integration_bus.task.id']).toBeUndefined();
  });

  it('marks the process span of a failed call as an error', async () => {
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'CRM is down' });
    await http.request('POST', '/users');
    await t.bus.processOutgoingTasks('Crm');
    expect(named('process Crm')[0]).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'CRM is down' },
      attributes: { 'integration_bus.result': 'ERROR' },
    });
  });

  it('publishes the bus events on node:diagnostics_channel', async () => {
    const seen: string[] = [];
    const onAfter = (message: unknown) => {
      const event = message as IntegrationTaskEvent;
      seen.push(`${event.connectorName}:${event.task.title}:${event.result}`);
    };
    subscribe(IntegrationEvents.ProcessInternalTask.After, onAfter);
    try {
      await http.request('POST', '/users');
      await t.bus.processOutgoingTasks('Crm');
    } finally {
      unsubscribe(IntegrationEvents.ProcessInternalTask.After, onAfter);
    }
    expect(seen).toEqual(["Crm:Create User 'traced':OK"]);
  });

  it('stores no trace context once no tracer provider is registered', async () => {
    trace.disable();
    try {
      await new Promise((r) => setTimeout(r, 1100)); // the bus looks again at most once a second
      await http.request('POST', '/users');
      expect(await t.sql(`select trace_parent from integration_task`)).toEqual([{ trace_parent: null }]);
      await t.bus.processOutgoingTasks('Crm');
      expect(named('create cms.user')).toEqual([]);
      expect(named('process Crm')).toEqual([]);
    } finally {
      recordSpans();
    }
  });
});
