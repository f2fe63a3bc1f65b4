// A processing instance of the fault tests: a Nest app with the bus and the configured connectors,
// processing as a deployed instance does (after-commit nudges, LISTEN/NOTIFY, the sweep, lease
// expiry), nothing driven by hand. `node worker.mjs migrate <objects>` creates the schema instead.
// With `http: true` in the config it serves the bus's REST API on a free loopback port.
// Prints `ready {"pid":…,"url":…}` once started; exits on SIGTERM through Nest's shutdown hooks.
import { NestFactory } from '@nestjs/core';
import { faultModule, migrate, readConfig } from './fault-app.mjs';

const config = readConfig();

if (process.argv[2] === 'migrate') {
  await migrate(config, process.argv[3]);
  console.log('migrated');
  process.exit(0);
}

const logger = ['log', 'warn', 'error'];
const FaultModule = faultModule(config);
let url = null;
let app;
if (config.http) {
  app = await NestFactory.create(FaultModule, { logger });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
} else {
  app = await NestFactory.createApplicationContext(FaultModule, { logger });
  app.enableShutdownHooks();
  await app.init();
}
// The bus unrefs its own timers, so an application context with nothing else open would exit as soon
// as its database connections drop (a PostgreSQL restart): like a deployed worker, stay up until
// told to stop.
const keepAlive = setInterval(() => {}, 1 << 30);
process.once('SIGTERM', () => clearInterval(keepAlive));
console.log(`ready ${JSON.stringify({ pid: process.pid, url })}`);
