import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/** A web site of the CMS: the scope users and documents belong to (`cms.site`, code name `name`). */
@Entity({ tableName: 'cms_site' })
@IntegrationObject({ objectType: 'cms.site', codeName: 'name' })
export class Site {
  @PrimaryKey() id!: number;

  /** Code name, unique: what other systems know the site by. */
  @Property({ length: 100, unique: true }) name!: string;

  @Property({ length: 200 }) displayName!: string;

  @Property() createdAt: Opt<Date> = new Date();
}
