import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/**
 * A row of the custom table `mynamespace.emailpreferencesync` (reference 000): a user's e-mail
 * alert preferences, to be pushed to the account system.
 */
@Entity({ tableName: 'mynamespace_emailpreferencesync' })
@IntegrationObject({ objectType: 'customtableitem.mynamespace.emailpreferencesync', codeName: 'itemGuid' })
export class EmailPreferenceSync {
  @PrimaryKey() id!: number;

  /** Code name: custom-table items have no natural key, so each gets a GUID. */
  @Property({ type: 'uuid', unique: true }) itemGuid: Opt<string> = randomUUID();

  @Property() acctNumber!: number;

  @Property() receiveBalanceWithin!: boolean;

  @Property() receiveExceedBalance!: boolean;

  /** Balance above which an alert is sent; `double` so that it reads back as a number. */
  @Property({ type: 'double' }) exceedBalance!: number;

  @Property() receivePaymentAlert!: boolean;
}
