import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CODE_NAME, EMAIL, Fields, parseId, readPage, type StringRules } from '../http/validation.js';
import { UsersService, type NewUser, type UserPatch, type UserView } from './users.service.js';

const FIELDS = ['userName', 'email', 'firstName', 'lastName', 'siteName'] as const;
const ROLE_FIELDS = ['roleId'] as const;
const USER_NAME: StringRules = { maxLength: 100, ...CODE_NAME };

/**
 * `/api/users`: create, list, update and delete users; `/api/users/:id/roles` gives a user a role
 * (`POST { roleId }`) or takes it away (`DELETE /api/users/:id/roles/:roleId`).
 */
@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): Promise<UserView[]> {
    return this.users.list(readPage(query));
  }

  @Post()
  create(@Body() body: unknown): Promise<UserView> {
    return this.users.create(readNewUser(body));
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown): Promise<UserView> {
    const userId = parseId(id);
    return this.users.update(userId, readUserPatch(body));
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.users.remove(parseId(id));
  }

  @Post(':id/roles')
  addRole(@Param('id') id: string, @Body() body: unknown): Promise<UserView> {
    const userId = parseId(id);
    const fields = Fields.body(body, ROLE_FIELDS);
    return this.users.addRole(userId, fields.integer('roleId', { required: true, min: 1 }));
  }

  @Delete(':id/roles/:roleId')
  @HttpCode(204)
  removeRole(@Param('id') id: string, @Param('roleId') roleId: string): Promise<void> {
    return this.users.removeRole(parseId(id), parseId(roleId, 'roleId'));
  }
}

function readNewUser(body: unknown): NewUser {
  const fields = Fields.body(body, FIELDS);
  return { userName: fields.string('userName', { ...USER_NAME, required: true }), ...readDetails(fields) };
}

function readUserPatch(body: unknown): UserPatch {
  const fields = Fields.body(body, FIELDS);
  return { userName: fields.string('userName', USER_NAME), ...readDetails(fields) };
}

/** The optional fields, the same for POST and PATCH. */
function readDetails(fields: Fields): Omit<UserPatch, 'userName'> {
  return {
    email: fields.string('email', { nullable: true, maxLength: 254, ...EMAIL }),
    firstName: fields.string('firstName', { nullable: true, maxLength: 100 }),
    lastName: fields.string('lastName', { nullable: true, maxLength: 100 }),
    siteName: fields.string('siteName', { nullable: true, maxLength: 100 }),
  };
}
