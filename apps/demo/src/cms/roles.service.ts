import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { MikroORM, type EntityManager } from '@mikro-orm/core';
import { flushOrConflict } from '../http/flush.js';
import type { Page } from '../http/validation.js';
import { Role } from './role.entity.js';

/** What the API returns for a role. */
export interface RoleView {
  id: number;
  name: string;
  displayName: string;
  createdAt: Date;
}

/** Fields of a new role. */
export interface NewRole {
  name: string;
  displayName?: string;
}

/**
 * Roles. There is no rename on purpose: other systems know a role by its code name, and a renamed
 * role would be a new one to them (see `ErpConnector`).
 */
@Injectable()
export class RolesService {
  constructor(private readonly orm: MikroORM) {}

  async list(page: Page): Promise<RoleView[]> {
    const roles = await this.orm.em.fork().find(Role, {}, { orderBy: { id: 'asc' }, ...page });
    return roles.map(roleView);
  }

  async create(input: NewRole): Promise<RoleView> {
    const em = this.orm.em.fork();
    if ((await em.count(Role, { name: input.name })) > 0) {
      throw new ConflictException(`A role named "${input.name}" already exists.`);
    }
    const role = em.create(Role, { name: input.name, displayName: input.displayName ?? input.name });
    await flushOrConflict(em);
    return roleView(role);
  }

  /** Deletes a role; one still given to users is refused with 409 (take it from them first). */
  async remove(id: number): Promise<void> {
    const em = this.orm.em.fork();
    em.remove(await findRole(em, id));
    await flushOrConflict(em);
  }
}

async function findRole(em: EntityManager, id: number): Promise<Role> {
  const role = await em.findOne(Role, id);
  if (!role) throw new NotFoundException(`Role ${id} not found.`);
  return role;
}

function roleView(role: Role): RoleView {
  return { id: role.id, name: role.name, displayName: role.displayName, createdAt: role.createdAt };
}
