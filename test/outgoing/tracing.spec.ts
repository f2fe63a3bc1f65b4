import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Controller, Module, Post, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
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
import { asChain, linksOf, registerOfficialSdk, traceParentOf } from '../support/otel-sdk.js';

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
const sdk = registerOfficialSdk();
const tracer = trace.getTracer('host-app');

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
        tracer.startActiveSpan(`${req.method} /users`, { kind: SpanKind.SERVER }, (span) => {
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
  sdk.exporter.reset();
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
});

afterAll(() => sdk.stop());

const named = (name: string): ReadableSpan[] => sdk.named(name);

/** Whether `child`'s parent is `parent`, in the same trace. */
function expectChildOf(child: ReadableSpan | undefined, parent: ReadableSpan | undefined): void {
  expect(child && parent && linksOf([parent, child])[1]).toEqual(
    parent && child && asChain([parent, child])[1],
  );
  expect(child).toBeDefined();
}

describe('OpenTelemetry with the official SDK (R-ECO-4)', () => {
  it('R-ECO-4 traces one change from the HTTP request through logging to the connector call, in one trace', async () => {
    expect((await http.request('POST', '/users')).status).toBe(201);
    const [request] = named('POST /users');
    const [create] = named('create cms.user');
    // The create span is a child of the request's span, in the same trace.
    expectChildOf(create, request);
    expect(create).toMatchObject({
      kind: SpanKind.PRODUCER,
      ended: true,
      attributes: {
        'messaging.system': 'integration_bus',
        'messaging.operation.type': 'create',
        'messaging.destination.name': 'cms.user',
        'integration_bus.task.type': 'CREATEOBJ',
      },
    });
    // A versioned tracer: the package's name and version.
    expect(create!.instrumentationScope).toEqual(
      expect.objectContaining({
        name: 'nestjs-integration-bus',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      }),
    );
    // Its W3C context is stored with the task.
    const [task] = await t.sql<{ guid: string; trace_parent: string }>(
      `select guid, trace_parent from integration_task`,
    );
    expect(task!.trace_parent).toBe(traceParentOf(create!.spanContext()));
    expect(create!.attributes['messaging.message.id']).toBe(task!.guid);

    // Processed later, outside the request: a process span continuing the create span's trace.
    await t.bus.processOutgoingTasks('Crm');
    const [process] = named('process Crm');
    expectChildOf(process, create);
    expect(process).toMatchObject({
      kind: SpanKind.CONSUMER,
      ended: true,
      status: { code: SpanStatusCode.UNSET },
      attributes: {
        'messaging.system': 'integration_bus',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'Crm',
        'messaging.consumer.group.name': 'Crm',
        'messaging.message.id': task!.guid,
        'integration_bus.direction': 'outgoing',
        'integration_bus.result': 'OK',
        'integration_bus.attempt': 1,
      },
    });
    expect(process!.links.map((l) => l.context)).toEqual([
      expect.objectContaining({
        traceId: create!.spanContext().traceId,
        spanId: create!.spanContext().spanId,
      }),
    ]);
  });

  it('R-ECO-4 makes the process span the active context inside the handler, on retries too', async () => {
    let attempt = 0;
    crm.control.respond = () => {
      // What an HTTP client instrumentation does inside the handler: a span of the active context.
      tracer.startSpan(`handler call ${++attempt}`).end();
      return attempt === 1 ? { result: R.Error, errorMessage: 'CRM is down' } : R.OK;
    };
    // The run is started inside another request's span: the handler's spans must not join it.
    await tracer.startActiveSpan('unrelated request', async (unrelated) => {
      await http.request('POST', '/users');
      await t.bus.processOutgoingTasks('Crm');
      await t.sql(`update integration_synchronization set next_attempt_at = now()`);
      await t.bus.processOutgoingTasks('Crm');
      unrelated.end();
    });
    const [create] = named('create cms.user');
    const processes = named('process Crm');
    expect(processes.map((p) => p.attributes['integration_bus.attempt'])).toEqual([1, 2]);
    for (const [i, process] of processes.entries()) {
      expectChildOf(process, create);
      expectChildOf(named(`handler call ${i + 1}`)[0], process);
    }
  });

  it('R-ECO-4 traces a synchronous connector call inside the request, as a child of its span', async () => {
    await t.bus.updateConnector('Erp', { enabled: true });
    try {
      await http.request('POST', '/users');
    } finally {
      await t.bus.updateConnector('Erp', { enabled: false });
    }
    const [request] = named('POST /users');
    const [sync] = named('process Erp');
    expectChildOf(sync, request);
    expect(sync).toMatchObject({
      kind: SpanKind.CONSUMER,
      ended: true,
      attributes: { 'messaging.consumer.group.name': 'Erp', 'integration_bus.result': 'OK' },
    });
    expect(sync!.attributes['integration_bus.task.id']).toBeUndefined();
  });

  it('R-ECO-4 marks the process span of a failed call as an error, with error.type', async () => {
    crm.control.respond = () => ({ result: R.Error, errorMessage: 'CRM is down' });
    await http.request('POST', '/users');
    await t.bus.processOutgoingTasks('Crm');
    expect(named('process Crm')[0]).toMatchObject({
      status: { code: SpanStatusCode.ERROR, message: 'CRM is down' },
      attributes: { 'integration_bus.result': 'ERROR', 'error.type': 'ERROR' },
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

  it('R-ECO-4 stores no trace context once no tracer provider is registered', async () => {
    trace.disable();
    try {
      await new Promise((r) => setTimeout(r, 1100)); // the bus looks again at most once a second
      await http.request('POST', '/users');
      expect(await t.sql(`select trace_parent from integration_task`)).toEqual([{ trace_parent: null }]);
      await t.bus.processOutgoingTasks('Crm');
      expect(named('create cms.user')).toEqual([]);
      expect(named('process Crm')).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(sdk.provider);
    }
  });
});
