import type { MigrationObject } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { IntegrationBusModule } from 'nestjs-integration-bus';
import { Document } from './cms/document.entity.js';
import { Role } from './cms/role.entity.js';
import { Site } from './cms/site.entity.js';
import { UserRole } from './cms/user-role.entity.js';
import { User } from './cms/user.entity.js';
import { EmailPreferenceSync } from './custom-tables/email-preference-sync.entity.js';
import { UserSync } from './custom-tables/user-sync.entity.js';
import { Migration20261125000000DemoCms } from './migrations/Migration20261125000000DemoCms.js';
import { Migration20261126000000DemoPollsRoles } from './migrations/Migration20261126000000DemoPollsRoles.js';
import { PollAnswer } from './polls/poll-answer.entity.js';
import { Poll } from './polls/poll.entity.js';

/** The demo's own entities: the small CMS, polls, and the two custom tables of reference 000. */
export const DEMO_ENTITIES = [
  Site,
  User,
  Role,
  UserRole,
  Document,
  Poll,
  PollAnswer,
  UserSync,
  EmailPreferenceSync,
];

/** Every migration the demo runs, in order: the bus's tables first, then the demo's own. */
export const DEMO_MIGRATIONS: MigrationObject[] = [
  ...IntegrationBusModule.migrations,
  { name: 'Migration20261125000000_DemoCms', class: Migration20261125000000DemoCms },
  { name: 'Migration20261126000000_DemoPollsRoles', class: Migration20261126000000DemoPollsRoles },
];

/** URL of the demo's embedded PostgreSQL (see main.ts), used when `DATABASE_URL` is not set. */
export const EMBEDDED_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:54329/postgres';

/**
 * The demo's MikroORM configuration: the single source of truth shared by the app (`demo.ts`) and
 * the root `mikro-orm.config.ts` used by tooling.
 */
export function createDemoOrmConfig(databaseUrl: string): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: [...DEMO_ENTITIES, ...IntegrationBusModule.entities],
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    // The tables are created by migrations only (never schema:update), and the migration list is
    // explicit so that the compiled app needs no migration folder on disk.
    migrations: { migrationsList: DEMO_MIGRATIONS, snapshot: false, transactional: true },
    debug: false,
  });
}
