import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/** A global role users are given (`cms.role`, code name `name`). */
@Entity({ tableName: 'cms_role' })
@IntegrationObject({ objectType: 'cms.role', codeName: 'name' })
export class Role {
  @PrimaryKey() id!: number;

  /** Code name, unique: what other systems know the role by. */
  @Property({ length: 100, unique: true }) name!: string;

  @Property({ length: 200 }) displayName!: string;

  @Property() createdAt: Opt<Date> = new Date();
}
