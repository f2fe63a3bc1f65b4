import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { EMAIL, Fields, parseId, readPage, type StringRules } from '../http/validation.js';
import {
  CustomTablesService,
  EMAIL_PREFERENCE_SYNC_TABLE,
  USER_SYNC_TABLE,
  type EmailPreferenceSyncView,
  type UserSyncView,
} from './custom-tables.service.js';
import type { EmailPreferenceSync } from './email-preference-sync.entity.js';
import type { UserSync } from './user-sync.entity.js';

const USER_SYNC_FIELDS = ['acctNumber', 'userName', 'email'] as const;
const EMAIL_PREFERENCE_FIELDS = [
  'acctNumber',
  'receiveBalanceWithin',
  'receiveExceedBalance',
  'exceedBalance',
  'receivePaymentAlert',
] as const;

const USER_NAME: StringRules = { maxLength: 100 };
const EMAIL_ADDRESS: StringRules = { maxLength: 254, ...EMAIL };

/**
 * `/api/custom-tables/usersync` and `/api/custom-tables/emailpreferencesync`: the two custom tables
 * of reference 000. Account numbers are not range-checked here on purpose: the account system
 * decides, and `CustomTableConnector` shows what happens when it refuses one.
 */
@Controller('api/custom-tables')
export class CustomTablesController {
  constructor(private readonly tables: CustomTablesService) {}

  @Get('usersync')
  listUserSync(@Query() query: Record<string, unknown>): Promise<UserSyncView[]> {
    return this.tables.list(USER_SYNC_TABLE, readPage(query));
  }

  @Post('usersync')
  createUserSync(@Body() body: unknown): Promise<UserSyncView> {
    const fields = Fields.body(body, USER_SYNC_FIELDS);
    return this.tables.create(USER_SYNC_TABLE, {
      acctNumber: fields.integer('acctNumber', { required: true }),
      userName: fields.string('userName', { ...USER_NAME, required: true }),
      email: fields.string('email', { ...EMAIL_ADDRESS, required: true }),
    });
  }

  @Patch('usersync/:id')
  updateUserSync(@Param('id') id: string, @Body() body: unknown): Promise<UserSyncView> {
    const rowId = parseId(id);
    const fields = Fields.body(body, USER_SYNC_FIELDS);
    const patch: Partial<UserSync> = {
      acctNumber: fields.integer('acctNumber'),
      userName: fields.string('userName', USER_NAME),
      email: fields.string('email', EMAIL_ADDRESS),
    };
    return this.tables.update(USER_SYNC_TABLE, rowId, patch);
  }

  @Delete('usersync/:id')
  @HttpCode(204)
  removeUserSync(@Param('id') id: string): Promise<void> {
    return this.tables.remove(USER_SYNC_TABLE, parseId(id));
  }

  @Get('emailpreferencesync')
  listEmailPreferences(@Query() query: Record<string, unknown>): Promise<EmailPreferenceSyncView[]> {
    return this.tables.list(EMAIL_PREFERENCE_SYNC_TABLE, readPage(query));
  }

  @Post('emailpreferencesync')
  createEmailPreferences(@Body() body: unknown): Promise<EmailPreferenceSyncView> {
    const fields = Fields.body(body, EMAIL_PREFERENCE_FIELDS);
    return this.tables.create(EMAIL_PREFERENCE_SYNC_TABLE, {
      acctNumber: fields.integer('acctNumber', { required: true }),
      receiveBalanceWithin: fields.boolean('receiveBalanceWithin', { required: true }),
      receiveExceedBalance: fields.boolean('receiveExceedBalance', { required: true }),
      exceedBalance: fields.number('exceedBalance', { required: true, min: 0 }),
      receivePaymentAlert: fields.boolean('receivePaymentAlert', { required: true }),
    });
  }

  @Patch('emailpreferencesync/:id')
  updateEmailPreferences(@Param('id') id: string, @Body() body: unknown): Promise<EmailPreferenceSyncView> {
    const rowId = parseId(id);
    const fields = Fields.body(body, EMAIL_PREFERENCE_FIELDS);
    const patch: Partial<EmailPreferenceSync> = {
      acctNumber: fields.integer('acctNumber'),
      receiveBalanceWithin: fields.boolean('receiveBalanceWithin'),
      receiveExceedBalance: fields.boolean('receiveExceedBalance'),
      exceedBalance: fields.number('exceedBalance', { min: 0 }),
      receivePaymentAlert: fields.boolean('receivePaymentAlert'),
    };
    return this.tables.update(EMAIL_PREFERENCE_SYNC_TABLE, rowId, patch);
  }

  @Delete('emailpreferencesync/:id')
  @HttpCode(204)
  removeEmailPreferences(@Param('id') id: string): Promise<void> {
    return this.tables.remove(EMAIL_PREFERENCE_SYNC_TABLE, parseId(id));
  }
}
