import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CODE_NAME, Fields, parseId, readPage } from '../http/validation.js';
import { SitesService, type NewSite, type SitePatch, type SiteView } from './sites.service.js';

const FIELDS = ['name', 'displayName'] as const;

/** `/api/sites`: create, list, update and delete sites. */
@Controller('api/sites')
export class SitesController {
  constructor(private readonly sites: SitesService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<SiteView[]> {
    return this.sites.list(readPage(query));
  }

  @Post()
  create(@Body() body: unknown): Promise<SiteView> {
    const fields = Fields.body(body, FIELDS);
    const input: NewSite = {
      name: fields.string('name', { required: true, maxLength: 100, ...CODE_NAME }),
      displayName: fields.string('displayName', { maxLength: 200 }),
    };
    return this.sites.create(input);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<SiteView> {
    const siteId = parseId(id);
    const fields = Fields.body(body, FIELDS);
    const patch: SitePatch = {
      name: fields.string('name', { maxLength: 100, ...CODE_NAME }),
      displayName: fields.string('displayName', { maxLength: 200 }),
    };
    return this.sites.update(siteId, patch);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.sites.remove(parseId(id));
  }
}
