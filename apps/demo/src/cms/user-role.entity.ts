import type { Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Unique } from '@mikro-orm/decorators/legacy';
import { Role } from './role.entity.js';
import { User } from './user.entity.js';

/**
 * The binding of a user to a role. Not an integration object of its own: it travels as a Snapshot
 * child of its user (`User.roles`), with a translation record for each of its two foreign keys.
 */
@Entity({ tableName: 'cms_userrole' })
@Unique({ properties: ['user', 'role'] })
export class UserRole {
  @PrimaryKey() id!: number;

  @ManyToOne(() => User, { deleteRule: 'no action' }) user!: Rel<User>;

  // `no action`: a role still held by someone cannot be deleted (the API answers 409).
  @ManyToOne(() => Role, { deleteRule: 'no action' }) role!: Rel<Role>;
}
