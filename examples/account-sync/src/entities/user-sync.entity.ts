// src/entities/user-sync.entity.ts
import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/** A staging row: a user's account data changed and must reach the account service. */
@Entity({ tableName: 'user_sync' })
// A staging row has no natural key: each row gets a GUID, and that is its code name.
@IntegrationObject({ objectType: 'staging.usersync', codeName: 'itemGuid' })
export class UserSync {
  @PrimaryKey() id!: number;

  @Property({ type: 'uuid', unique: true }) itemGuid: Opt<string> = randomUUID();

  @Property() acctNumber!: number;

  @Property({ length: 100 }) userName!: string;

  @Property({ length: 254 }) email!: string;
}
