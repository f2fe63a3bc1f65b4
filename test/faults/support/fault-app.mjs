// What the fault tests' processes share (worker.mjs, producer.mjs): the entity `fault_item`, the
// connectors that deliver to the fake external system (external-system.ts) over HTTP, and the
// Nest module around them. Plain JavaScript against the built library, decorators applied as
// functions, like test/crash/crash-worker.mjs: the processes run with `node`, no TypeScript loader.
// oxlint-disable-next-line import/no-unassigned-import -- decorator metadata polyfill, loaded for its side effect
import 'reflect-metadata';
import { Agent, request as httpRequest } from 'node:http';
import { Module } from '@nestjs/common';
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationBusModule,
  IntegrationObject,
  IntegrationProcessResult,
  Subscribe,
} from 'nestjs-integration-bus';

/**
 * The configuration every process receives as JSON in the `FAULT_CONFIG` environment variable:
 * `{ databaseUrl, externalUrl, connectors: [{ name, options, ignoreSignal }], bus, adminToken }`.
 * `options` goes to `@Connector` as it is, `bus` to `IntegrationBusModule.forRoot`.
 */
export function readConfig() {
  const text = process.env.FAULT_CONFIG;
  if (!text) throw new Error('FAULT_CONFIG is not set');
  return JSON.parse(text);
}

export class FaultItem {}
IntegrationObject({ objectType: 'fault.item', codeName: 'code' })(FaultItem);
export const FaultItemSchema = new EntitySchema({
  class: FaultItem,
  tableName: 'fault_item',
  properties: {
    id: { type: 'integer', primary: true },
    code: { type: 'string', unique: true },
    version: { type: 'integer' },
  },
});

/**
 * A connector class that POSTs each task's object to the external system: OK on 200, Error with the
 * status otherwise; a network failure or an aborted call throws. The task's `signal` is passed to
 * `fetch` unless `ignoreSignal` (a connector that does not cooperate with cancellation). With
 * `prepareMs`, each call first works that long on its own (reading translations, building the
 * request), and with `fence` it then calls `task.fence()` right before its write, as the README asks.
 */
function connectorClass(
  externalUrl,
  { name, options = {}, ignoreSignal = false, prepareMs = 0, fence = false },
) {
  const FaultConnector = class extends BaseIntegrationConnector {
    async processInternalTaskAsync(task) {
      if (prepareMs > 0) await new Promise((resolve) => setTimeout(resolve, prepareMs));
      // When the connector made the call: a call made before a pause can reach the external system
      // after it (its bytes were not yet written when the process was stopped).
      const body = (sentAt) => JSON.stringify(callOf(task, sentAt));
      const signal = ignoreSignal ? undefined : task.signal;
      const answer = fence
        ? await postFenced(
            `${externalUrl}/deliver`,
            body,
            signal,
            () => task.fence(),
            (gapMs) => {
              if (gapMs >= PAUSE_MS)
                console.log(
                  `paused between fence and write ${name} task ${task.id} for ${Math.round(gapMs)} ms`,
                );
            },
          ).catch((error) => {
            // Refused before writing: by the fence, or by the task's signal, which the claim aborts
            // when it runs out (whichever the resumed process reached first).
            if (task.signal.aborted) console.log(`fence refused ${name} task ${task.id}: ${error.message}`);
            throw error;
          })
        : await post(`${externalUrl}/deliver`, body(Date.now()), signal);
      return outcomeOf(answer);
    }

    /** With `maxBatchSize` above 1: the whole batch in one request to the bulk endpoint (R-EXT-1). */
    async processInternalTasksAsync(tasks) {
      if (prepareMs > 0) await new Promise((resolve) => setTimeout(resolve, prepareMs));
      const signal = ignoreSignal ? undefined : tasks[0].signal;
      for (const task of tasks) task.fence();
      const now = Date.now();
      return outcomeOf(
        await post(`${externalUrl}/deliver`, JSON.stringify(tasks.map((t) => callOf(t, now))), signal),
      );
    }
  };
  /** What the external system records of a task's call. */
  const callOf = (task, sentAt) => ({
    connector: name,
    objectId: task.object.id,
    version: task.object.version,
    taskId: task.id,
    sequence: task.sequence,
    attempt: task.attempt,
    resync: task.title.startsWith('Resync'),
    pid: process.pid,
    sentAt,
  });
  Object.defineProperty(FaultConnector, 'name', { value: `Fault${name}Connector` });
  Connector(name, options)(FaultConnector);
  Subscribe({ objectType: 'fault.item' })(FaultConnector);
  return FaultConnector;
}

async function post(url, body, signal) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal,
  });
  return {
    status: response.status,
    text: await response.text(),
    retryAfter: response.headers.get('retry-after'),
  };
}

/**
 * OK on 200; a 429 with `Retry-After` (seconds) pauses the whole connector that long, as a quota
 * asks (R-EXT-2); anything else is an Error.
 */
function outcomeOf({ status, text, retryAfter }) {
  if (status === 200) return IntegrationProcessResult.OK;
  const errorMessage = `external system answered ${status} ${text}`;
  if (status === 429 && retryAfter !== null && retryAfter !== undefined) {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage,
      retryAfterMs: Number(retryAfter) * 1000,
      pauseConnector: true,
    };
  }
  return { result: IntegrationProcessResult.Error, errorMessage };
}

const keepAlive = new Agent({ keepAlive: true });

/**
 * A gap this long between a passing fence and the write returning, which runs in one tick, can only
 * be a pause of the process: the one pause fencing cannot see (R-DEL-2). The test tells such a call
 * from a fence that passed when it should not have by this line of the worker's own monotonic clock.
 */
const PAUSE_MS = 100;

/**
 * A POST whose `fence` runs at the last moment: once the socket is connected, in the same tick as
 * the write of the request, so that only a pause within those microseconds falls between a passing
 * fence and the bytes leaving the process (with `fetch`, a new connection's handshake lies between
 * them). `wrote` learns how long they took.
 */
function postFenced(url, body, signal, fence, wrote) {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: 'POST',
      agent: keepAlive,
      headers: { 'content-type': 'application/json' },
      signal,
    });
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode, text, retryAfter: response.headers['retry-after'] }),
      );
      response.on('error', reject);
    });
    const write = () => {
      const fencedAt = performance.now(); // before the fence: a pause right after it is measured too
      try {
        fence();
      } catch (error) {
        request.destroy();
        reject(error);
        return;
      }
      request.end(body(Date.now())); // the bytes leave in this call: the socket is connected
      wrote(performance.now() - fencedAt);
    };
    request.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', write);
      else write();
    });
  });
}

/** MikroORM options for the fault database. */
function ormOptions(config) {
  return {
    driver: PostgreSqlDriver,
    clientUrl: config.databaseUrl,
    entities: [FaultItemSchema, ...IntegrationBusModule.entities],
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: true,
    pool: { min: 0, max: 30 },
  };
}

/** The root module of a worker or producer process: MikroORM, the bus and the configured connectors. */
export function faultModule(config, busOverrides = {}) {
  const connectors = config.connectors.map((c) => connectorClass(config.externalUrl, c));
  const FaultModule = class {};
  Module({
    imports: [
      MikroOrmModule.forRoot(ormOptions(config)),
      IntegrationBusModule.forRoot({
        incoming: { enabled: false },
        http: { adminToken: config.adminToken },
        ...config.bus,
        ...busOverrides,
        outgoing: { ...config.bus?.outgoing, ...busOverrides.outgoing },
      }),
    ],
    providers: connectors,
  })(FaultModule);
  return FaultModule;
}

/**
 * Creates the bus's tables (its migrations) and `fault_item` with `objects` rows at version 1,
 * logging no task. Run once per database before any worker starts.
 */
export async function migrate(config, objects) {
  const orm = await MikroORM.init({
    ...ormOptions(config),
    extensions: [Migrator],
    migrations: { migrationsList: IntegrationBusModule.migrations, snapshot: false },
  });
  try {
    await orm.migrator.up();
    const connection = orm.em.getConnection();
    await connection.execute(
      `create table fault_item (id int primary key, code text not null unique, version int not null)`,
    );
    await connection.execute(
      `insert into fault_item (id, code, version)
       select i, 'item-' || lpad(i::text, greatest(5, length(i::text)), '0'), 1 from generate_series(1, ${Number(objects)}) as g(i)`,
    );
  } finally {
    await orm.close(true);
  }
}
