import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { flushOrConflict } from '../http/flush.js';
import { FieldError, type Page } from '../http/validation.js';
import { Document } from './document.entity.js';
import type { Site } from './site.entity.js';
import { siteByName } from './sites.service.js';

/** Culture of a root page created without one. */
const DEFAULT_CULTURE = 'en-US';
/** Page type of a page created without one. */
const DEFAULT_CLASS_NAME = 'cms.menuitem';

/** What the API returns for a document. */
export interface DocumentView {
  id: number;
  title: string;
  aliasPath: string;
  culture: string;
  className: string;
  nodeGuid: string;
  parentId: number | null;
  siteName: string;
  createdAt: Date;
}

/**
 * Fields of a new document. A child page takes its site (and by default its culture) from its
 * parent; its alias path defaults to the parent's path plus the title.
 */
export interface NewDocument {
  title: string;
  parentId?: number | null;
  siteName?: string;
  aliasPath?: string;
  culture?: string;
  className?: string;
  /** Give the GUID of an existing page to add another culture version of it. */
  nodeGuid?: string;
}

/** Fields a PATCH may change (moving a page is a task type of its own, not an update). */
export interface DocumentPatch {
  title?: string;
  className?: string;
}

/** Documents of the content tree. The site is loaded with each page: the bus reads `site.name`. */
@Injectable()
export class DocumentsService {
  constructor(private readonly orm: MikroORM) {}

  async list(page: Page): Promise<DocumentView[]> {
    const documents = await this.orm.em
      .fork()
      .find(Document, {}, { populate: ['site'], orderBy: { id: 'asc' }, ...page });
    return documents.map(documentView);
  }

  async create(input: NewDocument): Promise<DocumentView> {
    const em = this.orm.em.fork();
    const parent = input.parentId ? await findParent(em, input.parentId) : null;
    const site = await siteOf(em, input, parent);
    const culture = input.culture ?? parent?.culture ?? DEFAULT_CULTURE;
    const aliasPath = aliasPathOf(input, parent);
    if ((await em.count(Document, { site, aliasPath, culture })) > 0) {
      throw new ConflictException(`Site "${site.name}" already has a ${culture} page at ${aliasPath}.`);
    }
    const document = em.create(Document, {
      parent,
      aliasPath,
      culture,
      className: input.className ?? DEFAULT_CLASS_NAME,
      title: input.title,
      site,
      ...(input.nodeGuid ? { nodeGuid: input.nodeGuid } : {}),
    });
    await flushOrConflict(em);
    return documentView(document);
  }

  async update(id: number, patch: DocumentPatch): Promise<DocumentView> {
    const em = this.orm.em.fork();
    const document = await findDocument(em, id);
    if (patch.title !== undefined) document.title = patch.title;
    if (patch.className !== undefined) document.className = patch.className;
    await flushOrConflict(em);
    return documentView(document);
  }

  /** Deletes one page; a page with child pages is refused with 409 (delete the children first). */
  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await findDocument(em, id));
    await flushOrConflict(em);
  }
}

async function findDocument(em: EntityManager, id: number): Promise<Document> {
  const document = await em.findOne(Document, id, { populate: ['site'] });
  if (!document) throw new NotFoundException(`Document ${id} not found.`);
  return document;
}

async function findParent(em: EntityManager, id: number): Promise<Document> {
  const parent = await em.findOne(Document, id, { populate: ['site'] });
  if (!parent) throw new FieldError('parentId', `names no existing document (${id})`);
  return parent;
}

async function siteOf(em: EntityManager, input: NewDocument, parent: Document | null): Promise<Site> {
  if (parent) {
    if (input.siteName !== undefined && input.siteName !== parent.site.name) {
      throw new FieldError('siteName', `must be the parent's site ("${parent.site.name}") or left out`);
    }
    return parent.site;
  }
  if (input.siteName === undefined) {
    throw new FieldError('siteName', 'is required for a root document (one without parentId)');
  }
  return siteByName(em, input.siteName, 'siteName');
}

function aliasPathOf(input: NewDocument, parent: Document | null): string {
  const base = parent && parent.aliasPath !== '/' ? parent.aliasPath : '';
  if (input.aliasPath !== undefined) {
    if (parent && !input.aliasPath.startsWith(`${base}/`)) {
      throw new FieldError('aliasPath', `must lie under the parent's path ("${parent.aliasPath}")`);
    }
    return input.aliasPath;
  }
  const segment = input.title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!segment) throw new FieldError('title', 'gives no usable alias path: give aliasPath as well');
  return `${base}/${segment}`;
}

function documentView(document: Document): DocumentView {
  return {
    id: document.id,
    title: document.title,
    aliasPath: document.aliasPath,
    culture: document.culture,
    className: document.className,
    nodeGuid: document.nodeGuid,
    parentId: document.parent?.id ?? null,
    siteName: document.site.name,
    createdAt: document.createdAt,
  };
}
