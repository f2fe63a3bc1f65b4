import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { IntegrationBus, TaskType } from 'nestjs-integration-bus';
import { flushOrConflict } from '../http/flush.js';
import { FieldError, type Page } from '../http/validation.js';
import { Role } from './role.entity.js';
import { siteByName } from './sites.service.js';
import { UserRole } from './user-role.entity.js';
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
  /** Code names of the user's roles, in the order they were given. */
  roles: string[];
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
 * Users and their roles. The site is always loaded with the user: the bus reads the task's site
 * name through `site.name`, and an unloaded reference would log the change as global.
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly orm: MikroORM,
    private readonly bus: IntegrationBus,
  ) {}

  async list(page: Page): Promise<UserView[]> {
    const users = await this.orm.em
      .fork()
      .find(User, {}, { populate: ['site', 'roles.role'], orderBy: { id: 'asc' }, ...page });
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

  /** Deletes a user with its role bindings, in one flush (the task carries the bindings). */
  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    const user = await findUser(em, id);
    for (const binding of user.roles.getItems()) em.remove(binding);
    em.remove(user);
    await flushOrConflict(em);
  }

  /**
   * Gives a user a role. A binding is not an integration object, so no change set of the flush
   * concerns the user: an UpdateObject task for the user is logged by hand, in the same
   * transaction, so that connectors receive the user with its new roles (Snapshot children).
   */
  async addRole(userId: number, roleId: number): Promise<UserView> {
    return this.orm.em.fork().transactional(async (em) => {
      const user = await findUser(em, userId);
      const role = await em.findOne(Role, roleId);
      if (!role) throw new FieldError('roleId', `names no existing role (${roleId})`);
      if (user.roles.getItems().some((binding) => binding.role.id === roleId)) {
        throw new ConflictException(`User "${user.userName}" already has role "${role.name}".`);
      }
      user.roles.add(em.create(UserRole, { user, role }));
      await this.flushAndLogUpdate(em, user);
      return userView(user);
    });
  }

  /** Takes a role from a user; logs an UpdateObject task for the user, as `addRole` does. */
  async removeRole(userId: number, roleId: number): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      const user = await findUser(em, userId);
      const binding = user.roles.getItems().find((candidate) => candidate.role.id === roleId);
      if (!binding) throw new NotFoundException(`User ${userId} does not have role ${roleId}.`);
      user.roles.remove(binding); // orphanRemoval deletes the binding
      await this.flushAndLogUpdate(em, user);
    });
  }

  private async flushAndLogUpdate(em: EntityManager, user: User): Promise<void> {
    await flushOrConflict(em);
    await this.bus.logInternalTask(user, TaskType.UpdateObject, { em });
  }
}

async function findUser(em: EntityManager, id: number): Promise<User> {
  const user = await em.findOne(User, id, { populate: ['site', 'roles.role'] });
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
    roles: user.roles.isInitialized() ? user.roles.getItems().map((binding) => binding.role.name) : [],
    createdAt: user.createdAt,
  };
}
