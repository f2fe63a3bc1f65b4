import { Injectable, NotFoundException } from '@nestjs/common';
import {
  MikroORM,
  type EntityClass,
  type EntityManager,
  type FilterQuery,
  type QueryOrderMap,
  type RequiredEntityData,
} from '@mikro-orm/core';
import { flushOrConflict } from '../http/flush.js';
import type { Page } from '../http/validation.js';
import { EmailPreferenceSync } from './email-preference-sync.entity.js';
import { UserSync } from './user-sync.entity.js';

/** A custom table the API serves: its entity, its name in messages, and what the API returns for a row. */
export interface CustomTable<T extends { id: number }, V> {
  entity: EntityClass<T>;
  label: string;
  view(row: T): V;
}

/** What the API returns for a `usersync` row. */
export type UserSyncView = Pick<
  UserSync,
  'id' | 'itemGuid' | 'acctNumber' | 'userName' | 'email' | 'createdAt'
>;

/** What the API returns for an `emailpreferencesync` row. */
export type EmailPreferenceSyncView = Pick<
  EmailPreferenceSync,
  | 'id'
  | 'itemGuid'
  | 'acctNumber'
  | 'receiveBalanceWithin'
  | 'receiveExceedBalance'
  | 'exceedBalance'
  | 'receivePaymentAlert'
>;

/** `customtableitem.mynamespace.usersync`. */
export const USER_SYNC_TABLE: CustomTable<UserSync, UserSyncView> = {
  entity: UserSync,
  label: 'usersync item',
  view: (row) => ({
    id: row.id,
    itemGuid: row.itemGuid,
    acctNumber: row.acctNumber,
    userName: row.userName,
    email: row.email,
    createdAt: row.createdAt,
  }),
};

/** `customtableitem.mynamespace.emailpreferencesync`. */
export const EMAIL_PREFERENCE_SYNC_TABLE: CustomTable<EmailPreferenceSync, EmailPreferenceSyncView> = {
  entity: EmailPreferenceSync,
  label: 'emailpreferencesync item',
  view: (row) => ({
    id: row.id,
    itemGuid: row.itemGuid,
    acctNumber: row.acctNumber,
    receiveBalanceWithin: row.receiveBalanceWithin,
    receiveExceedBalance: row.receiveExceedBalance,
    exceedBalance: row.exceedBalance,
    receivePaymentAlert: row.receivePaymentAlert,
  }),
};

/**
 * Rows of the custom tables. Like every write of the demo, they go through a forked entity manager
 * and `flush()`, so the bus logs the CreateObject task in the same transaction as the row.
 */
@Injectable()
export class CustomTablesService {
  constructor(private readonly orm: MikroORM) {}

  async list<T extends { id: number }, V>(table: CustomTable<T, V>, page: Page): Promise<V[]> {
    const orderBy = { id: 'asc' } as QueryOrderMap<T>;
    const rows = await this.orm.em.fork().find(table.entity, {} as FilterQuery<T>, { orderBy, ...page });
    return rows.map((row) => table.view(row));
  }

  async create<T extends { id: number }, V>(
    table: CustomTable<T, V>,
    data: RequiredEntityData<T>,
  ): Promise<V> {
    const em = this.orm.em.fork();
    const row = em.create(table.entity, data);
    await flushOrConflict(em);
    return table.view(row);
  }

  async update<T extends { id: number }, V>(
    table: CustomTable<T, V>,
    id: number,
    patch: Partial<T>,
  ): Promise<V> {
    const em = this.orm.em.fork();
    const row = await findRow(em, table, id);
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) (row as Record<string, unknown>)[key] = value;
    }
    await flushOrConflict(em);
    return table.view(row);
  }

  async remove<T extends { id: number }, V>(table: CustomTable<T, V>, id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await findRow(em, table, id));
    await flushOrConflict(em);
  }
}

async function findRow<T extends { id: number }, V>(
  em: EntityManager,
  table: CustomTable<T, V>,
  id: number,
): Promise<T> {
  const row = await em.findOne(table.entity, { id } as FilterQuery<T>);
  if (!row) throw new NotFoundException(`No ${table.label} with id ${id}.`);
  return row;
}
