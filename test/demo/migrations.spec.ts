import { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, startDemo, type RunningDemo } from './demo-harness.js';

/** Tables of the demo's own migrations (the bus checks its own). */
const DEMO_TABLE = /"(cms|polls|mynamespace)_\w+"/;
const POLLS_AND_ROLES = ['cms_role', 'cms_userrole', 'polls_poll', 'polls_pollanswer'];

async function existingTables(demo: RunningDemo, names: string[]): Promise<number> {
  return count(demo, 'select 1 from unnest($1::text[]) n where to_regclass(n) is not null', [names]);
}

describe('demo migrations', () => {
  let demo: RunningDemo;
  let orm: MikroORM;
  beforeAll(async () => {
    demo = await startDemo({ autoSync: false });
    orm = demo.app.get(MikroORM);
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('leave MikroORM nothing to change in the demo tables', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.split('\n').filter((statement) => DEMO_TABLE.test(statement))).toEqual([]);
  });

  it('undo and redo the polls-and-roles migration', async () => {
    expect(await existingTables(demo, POLLS_AND_ROLES)).toBe(4);
    await orm.migrator.down({ to: 'Migration20261125000000_DemoCms' });
    expect(await existingTables(demo, POLLS_AND_ROLES)).toBe(0);
    expect(await existingTables(demo, ['cms_user', 'cms_site'])).toBe(2);
    await orm.migrator.up();
    expect(await existingTables(demo, POLLS_AND_ROLES)).toBe(4);
  });
});
