import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { flushOrConflict } from '../http/flush.js';
import type { Page } from '../http/validation.js';
import { siteByName } from './sites.service.js';
import { User } from './user.entity.js';

/** What the API returns for a user. */
export interface UserView {
  id: number;
  userName: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  /** `null` for a global user. */
  siteName: string | null;
  createdAt: Date;
}

/** Fields of a new user; `siteName` names an existing site. */
export interface NewUser {
  userName: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  siteName?: string | null;
}

/** Fields a PATCH may change; `null` clears an optional field (`siteName: null` makes the user global). */
export type UserPatch = Partial<NewUser>;

/**
 * Users. The site is always loaded with the user: the bus reads the task's site name through
 * `site.name`, and an unloaded reference would log the change as global.
 */
@Injectable()
export class UsersService {
  constructor(private readonly orm: MikroORM) {}

  async list(page: Page): Promise<UserView[]> {
    const users = await this.orm.em
      .fork()
      .find(User, {}, { populate: ['site'], orderBy: { id: 'asc' }, ...page });
    return users.map(userView);
  }

  async create(input: NewUser): Promise<UserView> {
    const em = this.orm.em.fork();
    await assertUserNameFree(em, input.userName);
    const user = em.create(User, {
      userName: input.userName,
      email: input.email ?? null,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      site: input.siteName ? await siteByName(em, input.siteName, 'siteName') : null,
    });
    await flushOrConflict(em);
    return userView(user);
  }

  async update(id: number, patch: UserPatch): Promise<UserView> {
    const em = this.orm.em.fork();
    const user = await findUser(em, id);
    if (patch.userName !== undefined && patch.userName !== user.userName) {
      await assertUserNameFree(em, patch.userName);
      user.userName = patch.userName;
    }
    if (patch.email !== undefined) user.email = patch.email;
    if (patch.firstName !== undefined) user.firstName = patch.firstName;
    if (patch.lastName !== undefined) user.lastName = patch.lastName;
    if (patch.siteName !== undefined) {
      user.site = patch.siteName === null ? null : await siteByName(em, patch.siteName, 'siteName');
    }
    await flushOrConflict(em);
    return userView(user);
  }

  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await findUser(em, id));
    await flushOrConflict(em);
  }
}

async function findUser(em: EntityManager, id: number): Promise<User> {
  const user = await em.findOne(User, id, { populate: ['site'] });
  if (!user) throw new NotFoundException(`User ${id} not found.`);
  return user;
}

async function assertUserNameFree(em: EntityManager, userName: string): Promise<void> {
  if ((await em.count(User, { userName })) > 0) {
    throw new ConflictException(`A user named "${userName}" already exists.`);
  }
}

function userView(user: User): UserView {
  return {
    id: user.id,
    userName: user.userName,
    email: user.email ?? null,
    firstName: user.firstName ?? null,
    lastName: user.lastName ?? null,
    siteName: user.site?.name ?? null,
    createdAt: user.createdAt,
  };
}
