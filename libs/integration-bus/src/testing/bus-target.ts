import type { INestApplicationContext } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { IntegrationBus } from '../integration-bus.service.js';

/**
 * What the testing helpers work on: the test's Nest application (or application context, or a
 * `TestingModule`) that imports `IntegrationBusModule`.
 */
export type BusTarget = INestApplicationContext;

/** The bus of a test app. */
export function busOf(app: BusTarget): IntegrationBus {
  return app.get(IntegrationBus, { strict: false });
}

/** A fresh entity manager of a test app's MikroORM. */
export function entityManagerOf(target: BusTarget | MikroORM | EntityManager): EntityManager {
  if (target instanceof MikroORM) return target.em.fork();
  if (isEntityManager(target)) return target;
  return target.get(MikroORM, { strict: false }).em.fork();
}

/**
 * The event emitter the bus publishes on. The helpers that report what connectors received listen
 * to the bus's events, so the app must import `EventEmitterModule.forRoot()`.
 */
export function emitterOf(app: BusTarget): EventEmitter2 {
  try {
    return app.get(EventEmitter2, { strict: false });
  } catch {
    throw new Error(
      'nestjs-integration-bus/testing: the app has no EventEmitter2. Import EventEmitterModule.forRoot() ' +
        "(from '@nestjs/event-emitter') in the test module: the helpers read the bus's processing events.",
    );
  }
}

function isEntityManager(value: object): value is EntityManager {
  return typeof (value as Partial<EntityManager>).fork === 'function' && 'getConnection' in value;
}
