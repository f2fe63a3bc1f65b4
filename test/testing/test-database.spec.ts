import { Client } from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from 'nestjs-integration-bus/testing';

async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase (nestjs-integration-bus/testing)', () => {
  it('creates an empty database of its own on the given server, and drops it even with a connection left open', async () => {
    const serverUrl = inject('serverUrl');
    const db = await createTestDatabase({ serverUrl, namePrefix: 'kit_test' });
    const name = new URL(db.url).pathname.slice(1);
    expect(name).toMatch(/^kit_test_[0-9a-f]{12}$/);
    const leaked = new Client({ connectionString: db.url });
    await leaked.connect();
    leaked.on('error', () => {}); // the drop terminates it
    const { rows } = await leaked.query(
      `select count(*)::int as n from pg_tables where schemaname = 'public'`,
    );
    expect(rows).toEqual([{ n: 0 }]);
    expect(await databaseExists(serverUrl, name)).toBe(true);
    await db.drop();
    expect(await databaseExists(serverUrl, name)).toBe(false);
    await leaked.end().catch(() => {});
  });

  it('rejects a name prefix that is not a plain identifier', async () => {
    await expect(
      createTestDatabase({ serverUrl: inject('serverUrl'), namePrefix: 'Bad-Name' }),
    ).rejects.toThrow(/namePrefix must be 1-41 lowercase letters/);
  });
});
