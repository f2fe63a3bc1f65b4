import { describe, expect, it } from 'vitest';
import { useBusApp } from '../support/bus-app.js';

const t = useBusApp({});

describe('the shipped migrations', () => {
  it('create exactly the schema the bus entities describe, so a host’s schema diff leaves the bus tables alone', async () => {
    const diff = await t.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false });
    const busStatements = diff
      .split(/;\s*\n/)
      .map((statement) => statement.trim())
      .filter((statement) => statement.includes('integration_'));
    expect(busStatements.join(';\n')).toBe('');
  });

  it('can be rolled back and applied again', async () => {
    await t.orm.migrator.down({ to: 0 });
    expect(await t.sql(`select to_regclass('integration_task') as t`)).toEqual([{ t: null }]);
    await t.orm.migrator.up();
    expect(await t.sql(`select to_regclass('integration_task')::text as t`)).toEqual([
      { t: 'integration_task' },
    ]);
  });
});
