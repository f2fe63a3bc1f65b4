import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/** The subscribed entity every bus scenario writes: a user row with a few scalar columns. */
@Entity({ tableName: 'bench_user' })
@IntegrationObject({ objectType: 'bench.user', codeName: 'userName' })
export class BenchUser {
  @PrimaryKey() id!: number;
  @Property() userName!: string;
  @Property() email!: string;
  @Property() createdAt: Date & Opt = new Date();
}

/** The table of `BenchUser`, created by hand: the bench has no migration of its own. */
export const BENCH_USER_DDL = `create table if not exists bench_user (
  id serial primary key,
  user_name varchar(255) not null,
  email varchar(255) not null,
  created_at timestamptz not null
)`;
