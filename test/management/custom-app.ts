import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { migrate, testOrmOptions } from '../support/bus-app.js';

/**
 * An app built around a given `IntegrationBusModule.forRoot(...)` / `forRootAsync(...)`, for the
 * tests of how the module is registered (paths, global prefix, tokens); initialised, not listening.
 */
export async function createCustomApp(options: {
  databaseUrl: string;
  bus: DynamicModule;
  globalPrefix?: string;
  controllers?: Type[];
}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MikroOrmModule.forRoot({ ...testOrmOptions(options.databaseUrl), pool: { min: 0, max: 4 } }),
      EventEmitterModule.forRoot(),
      options.bus,
    ],
    controllers: options.controllers ?? [],
  }).compile();
  await migrate(moduleRef.get(MikroORM));
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
  await app.init();
  return app;
}
