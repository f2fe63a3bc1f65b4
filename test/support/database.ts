import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Creates an empty database on the test server and returns its URL and a function dropping it. */
export async function createTestDatabase(
  serverUrl: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ib_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropDatabase(serverUrl, name),
  };
}

/**
 * Drops a test database once the connections of the apps just closed are gone. A pool's clients may
 * still be closing when `app.close()` returns; terminating them (`with (force)`) makes the server
 * send them a FATAL error that no listener is left to catch, an uncaught error in the test worker.
 * So: without force first, for up to two seconds, then with force (a test that leaks a pool).
 */
async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      await admin(serverUrl, `drop database if exists "${name}"`);
      return;
    } catch (error) {
      // 55006: object_in_use, "database is being accessed by other users".
      if ((error as { code?: string }).code !== '55006') throw error;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  console.warn(`Test database ${name} is still in use 2 s after its apps closed: dropped with force.`);
  await admin(serverUrl, `drop database if exists "${name}" with (force)`);
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
