import type { TriggerDef } from '@mikro-orm/core';

/**
 * The cascades between the queue tables, as statement-level triggers (see the first migration for
 * why there are no foreign keys): a task or a connector takes its synchronizations with it (a
 * connector also the tasks queued for it alone), a synchronization its sync log. `gone` is the transition table of the deleted rows. Declared once
 * here for the migration and for the entity schemas, so that MikroORM's schema diff (which knows
 * triggers by the `{table}_{trigger}_fn` function convention) sees them as its own.
 */
export const CLEANUP_TRIGGERS = {
  integration_task: {
    name: 'cleanup',
    body: 'delete from "integration_synchronization" s using gone g where s."task_id" = g."id"; return null',
  },
  integration_connector: {
    name: 'cleanup',
    // Also the tasks waiting for it alone, which have no synchronization row (Migration20261201400000LoneTasks).
    body:
      'delete from "integration_synchronization" s using gone g where s."connector_id" = g."id"; ' +
      'delete from "integration_task" t using gone g where t."connector_id" = g."id"; return null',
  },
  integration_synchronization: {
    name: 'cleanup',
    body: 'delete from "integration_sync_log" l using gone g where l."synchronization_id" = g."id"; return null',
  },
} as const;

/**
 * The entity-schema form of a table's cleanup trigger, as the full DDL (`expression`): MikroORM's
 * own trigger DDL has no `referencing old table as gone`, so `schema.refresh()` / `schema:update`
 * built triggers whose every delete failed with `relation "gone" does not exist`. The schema diff
 * does not compare an expression with the introspected trigger, so a database the migrations built
 * shows no change; the function name follows the `{table}_{trigger}_fn` convention MikroORM drops
 * the function by.
 */
export function cleanupTrigger(table: keyof typeof CLEANUP_TRIGGERS): TriggerDef {
  const { name, body } = CLEANUP_TRIGGERS[table];
  return {
    name,
    timing: 'after',
    events: ['delete'],
    forEach: 'statement',
    expression:
      `create or replace function "${table}_${name}_fn"() returns trigger language plpgsql as $$ begin ${body}; end $$;\n` +
      `create trigger "${name}" after delete on "${table}" referencing old table as gone ` +
      `for each statement execute function "${table}_${name}_fn"()`,
  };
}
