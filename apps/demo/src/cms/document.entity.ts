import { randomUUID } from 'node:crypto';
import type { Opt, Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { IntegrationDocument } from 'nestjs-integration-bus';
import { Site } from './site.entity.js';

/**
 * A page of the content tree, in one culture. Culture versions of a page share its `nodeGuid`,
 * which is what other systems identify the page by.
 */
@Entity({ tableName: 'cms_document' })
@Unique({ properties: ['site', 'aliasPath', 'culture'] })
@IntegrationDocument({
  className: 'className',
  aliasPath: 'aliasPath',
  culture: 'culture',
  nodeGuid: 'nodeGuid',
  site: 'site.name',
})
export class Document {
  @PrimaryKey() id!: number;

  /** The parent page; `null` for a root page. Children must be deleted first (no database cascade). */
  @ManyToOne(() => Document, { nullable: true, deleteRule: 'no action' }) parent?: Rel<Document> | null;

  /** Path of the page in its site's tree, e.g. `/Products/Phones`. */
  @Property({ length: 450 }) aliasPath!: string;

  /** Culture code, e.g. `en-US`. */
  @Property({ length: 10 }) culture!: string;

  /** Page type, e.g. `cms.menuitem`. */
  @Property({ length: 100 }) className!: string;

  @Property({ type: 'uuid' }) nodeGuid: Opt<string> = randomUUID();

  @Property({ length: 200 }) title!: string;

  @ManyToOne(() => Site, { deleteRule: 'no action' }) site!: Rel<Site>;

  @Property() createdAt: Opt<Date> = new Date();
}
