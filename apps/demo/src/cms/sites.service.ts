import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { flushOrConflict } from '../http/flush.js';
import { FieldError, type Page } from '../http/validation.js';
import { Site } from './site.entity.js';

/** What the API returns for a site. */
export interface SiteView {
  id: number;
  name: string;
  displayName: string;
  createdAt: Date;
}

/** Fields of a new site. */
export interface NewSite {
  name: string;
  displayName?: string;
}

/** Fields a PATCH may change. */
export type SitePatch = Partial<NewSite>;

/** Sites: each call works in an entity manager of its own, forked from the global one. */
@Injectable()
export class SitesService {
  constructor(private readonly orm: MikroORM) {}

  async list(page: Page): Promise<SiteView[]> {
    const sites = await this.orm.em.fork().find(Site, {}, { orderBy: { id: 'asc' }, ...page });
    return sites.map(siteView);
  }

  async create(input: NewSite): Promise<SiteView> {
    const em = this.orm.em.fork();
    await assertNameFree(em, input.name);
    const site = em.create(Site, { name: input.name, displayName: input.displayName ?? input.name });
    await flushOrConflict(em);
    return siteView(site);
  }

  async update(id: number, patch: SitePatch): Promise<SiteView> {
    const em = this.orm.em.fork();
    const site = await findSite(em, id);
    if (patch.name !== undefined && patch.name !== site.name) await assertNameFree(em, patch.name);
    if (patch.name !== undefined) site.name = patch.name;
    if (patch.displayName !== undefined) site.displayName = patch.displayName;
    await flushOrConflict(em);
    return siteView(site);
  }

  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await findSite(em, id));
    await flushOrConflict(em);
  }
}

/** The site of the given code name, or a 400 naming `field`. */
export async function siteByName(em: EntityManager, name: string, field: string): Promise<Site> {
  const site = await em.findOne(Site, { name });
  if (!site) throw new FieldError(field, `names no existing site ("${name}")`);
  return site;
}

async function findSite(em: EntityManager, id: number): Promise<Site> {
  const site = await em.findOne(Site, id);
  if (!site) throw new NotFoundException(`Site ${id} not found.`);
  return site;
}

async function assertNameFree(em: EntityManager, name: string): Promise<void> {
  if ((await em.count(Site, { name })) > 0)
    throw new ConflictException(`A site named "${name}" already exists.`);
}

function siteView(site: Site): SiteView {
  return { id: site.id, name: site.name, displayName: site.displayName, createdAt: site.createdAt };
}
