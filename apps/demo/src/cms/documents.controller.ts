import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Fields, parseId, readPage, type StringRules } from '../http/validation.js';
import {
  DocumentsService,
  type DocumentPatch,
  type DocumentView,
  type NewDocument,
} from './documents.service.js';

const CREATE_FIELDS = [
  'title',
  'parentId',
  'siteName',
  'aliasPath',
  'culture',
  'className',
  'nodeGuid',
] as const;
const PATCH_FIELDS = ['title', 'className'] as const;

const TITLE: StringRules = { maxLength: 200 };
const CLASS_NAME: StringRules = {
  maxLength: 100,
  pattern: /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$/,
  patternHint: 'must be a dotted page type such as cms.menuitem',
};

/** `/api/documents`: create, list, update and delete pages of the content tree. */
@Controller('api/documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<DocumentView[]> {
    return this.documents.list(readPage(query));
  }

  @Post()
  create(@Body() body: unknown): Promise<DocumentView> {
    const fields = Fields.body(body, CREATE_FIELDS);
    const input: NewDocument = {
      title: fields.string('title', { ...TITLE, required: true }),
      parentId: fields.integer('parentId', { nullable: true, min: 1 }),
      siteName: fields.string('siteName', { maxLength: 100 }),
      aliasPath: fields.string('aliasPath', {
        maxLength: 450,
        pattern: /^(\/[A-Za-z0-9_.-]+)+$/,
        patternHint: 'must be a path such as /Products/Phones',
      }),
      culture: fields.string('culture', {
        maxLength: 10,
        pattern: /^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$/,
        patternHint: 'must be a culture code such as en-US',
      }),
      className: fields.string('className', CLASS_NAME),
      nodeGuid: fields.string('nodeGuid', {
        maxLength: 36,
        pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
        patternHint: 'must be a GUID',
      }),
    };
    return this.documents.create(input);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<DocumentView> {
    const documentId = parseId(id);
    const fields = Fields.body(body, PATCH_FIELDS);
    const patch: DocumentPatch = {
      title: fields.string('title', TITLE),
      className: fields.string('className', CLASS_NAME),
    };
    return this.documents.update(documentId, patch);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.documents.remove(parseId(id));
  }
}
