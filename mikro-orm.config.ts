import { createDemoOrmConfig, EMBEDDED_DATABASE_URL } from './apps/demo/src/mikro-orm.config.js';

/**
 * The demo's MikroORM configuration, for tooling that looks for a root `mikro-orm.config.ts`
 * (the MikroORM CLI, IDE plugins). Built by the same function as the app's, from `DATABASE_URL`,
 * else the demo's embedded PostgreSQL (`npm run demo` starts it on port 54329).
 */
export default createDemoOrmConfig(process.env.DATABASE_URL ?? EMBEDDED_DATABASE_URL);
