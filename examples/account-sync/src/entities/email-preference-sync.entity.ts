// src/entities/email-preference-sync.entity.ts
import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/** A staging row: a user's e-mail alert preferences, to push to the account service. */
@Entity({ tableName: 'email_preference_sync' })
@IntegrationObject({ objectType: 'staging.emailpreferencesync', codeName: 'itemGuid' })
export class EmailPreferenceSync {
  @PrimaryKey() id!: number;

  @Property({ type: 'uuid', unique: true }) itemGuid: Opt<string> = randomUUID();

  @Property() acctNumber!: number;

  @Property() paymentAlerts!: boolean;

  @Property({ type: 'double' }) alertAboveBalance!: number;
}
