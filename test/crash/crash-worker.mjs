// A processing instance in a process of its own, for the kill -9 test (crash.spec.ts). Plain
// JavaScript against the built library, decorators applied as functions: the test spawns it with
// `node`, no TypeScript loader involved.
// oxlint-disable-next-line import/no-unassigned-import -- decorator metadata polyfill, loaded for its side effect
import 'reflect-metadata';
import { appendFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EntitySchema } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationBus,
  IntegrationBusModule,
  IntegrationObject,
  IntegrationProcessResult,
  Subscribe,
} from 'nestjs-integration-bus';

const [databaseUrl, outputFile, delayMs] = process.argv.slice(2);

class CrashItem {}
IntegrationObject({ objectType: 'crash.item', codeName: 'code' })(CrashItem);
const CrashItemSchema = new EntitySchema({
  class: CrashItem,
  tableName: 't_crash_item',
  properties: { id: { type: 'integer', primary: true }, code: { type: 'string' } },
});

class CrashConnector extends BaseIntegrationConnector {
  async processInternalTaskAsync(task) {
    await new Promise((resolve) => setTimeout(resolve, Number(delayMs)));
    // Written synchronously before answering OK: what the external system has received.
    appendFileSync(outputFile, `${process.pid} ${task.object.code}\n`);
    return IntegrationProcessResult.OK;
  }
}
Connector('Crash')(CrashConnector);
Subscribe({ objectType: 'crash.item' })(CrashConnector);

class WorkerModule {}
Module({
  imports: [
    MikroOrmModule.forRoot({
      driver: PostgreSqlDriver,
      clientUrl: databaseUrl,
      entities: [CrashItemSchema, ...IntegrationBusModule.entities],
      discovery: { warnWhenNoEntities: false },
    }),
    IntegrationBusModule.forRoot({
      batchSize: 50,
      leaseMs: 1000,
      outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
      incoming: { enabled: false },
    }),
  ],
  providers: [CrashConnector],
})(WorkerModule);

const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
await app.init();
const bus = app.get(IntegrationBus);
const client = new Client({ connectionString: databaseUrl });
await client.connect();
console.log('ready');
// Until the queue is empty: a run finds the connector busy while a dead instance's lease lasts.
for (;;) {
  await bus.processOutgoingTasks('Crash');
  // Every task here is queued for this connector alone: the queue is empty when the tasks are gone.
  const { rows } = await client.query('select count(*)::int as n from integration_task');
  if (rows[0].n === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
await client.end();
await app.close();
console.log('drained');
