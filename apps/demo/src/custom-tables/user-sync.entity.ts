import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/**
 * A row of the custom table `mynamespace.usersync` (reference 000): written when a user's account
 * data changes, picked up by `CustomTableConnector` and sent to the account system.
 */
@Entity({ tableName: 'mynamespace_usersync' })
@IntegrationObject({ objectType: 'customtableitem.mynamespace.usersync', codeName: 'itemGuid' })
export class UserSync {
  @PrimaryKey() id!: number;

  /** Code name: custom-table items have no natural key, so each gets a GUID. */
  @Property({ type: 'uuid', unique: true }) itemGuid: Opt<string> = randomUUID();

  @Property() acctNumber!: number;

  @Property({ length: 100 }) userName!: string;

  @Property({ length: 254 }) email!: string;

  @Property() createdAt: Opt<Date> = new Date();
}
