import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CODE_NAME, Fields, parseId, readPage } from '../http/validation.js';
import { RolesService, type NewRole, type RoleView } from './roles.service.js';

const FIELDS = ['name', 'displayName'] as const;

/** `/api/roles`: create, list and delete roles; `/api/users/:id/roles` gives them to users. */
@Controller('api/roles')
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<RoleView[]> {
    return this.roles.list(readPage(query));
  }

  @Post()
  create(@Body() body: unknown): Promise<RoleView> {
    const fields = Fields.body(body, FIELDS);
    const input: NewRole = {
      name: fields.string('name', { required: true, maxLength: 100, ...CODE_NAME }),
      displayName: fields.string('displayName', { maxLength: 200 }),
    };
    return this.roles.create(input);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.roles.remove(parseId(id));
  }
}
