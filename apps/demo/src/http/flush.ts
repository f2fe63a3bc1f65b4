import { ConflictException } from '@nestjs/common';
import {
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
  type EntityManager,
} from '@mikro-orm/core';

/**
 * Flushes the unit of work: the changes and the integration tasks the bus logs for them commit in
 * one transaction. The database's refusals become 409 Conflict (a duplicate that slipped past the
 * services' own checks when two requests raced, or a row still referenced by others); the flush
 * failed as a whole, so neither the change nor a task was written.
 */
export async function flushOrConflict(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw new ConflictException('An item with the same code name already exists.');
    }
    if (error instanceof ForeignKeyConstraintViolationException) {
      throw new ConflictException(
        'The item is still referenced by other items (users, polls or pages of a site, child pages of a page, ' +
          'users holding a role): remove them first.',
      );
    }
    throw error;
  }
}
