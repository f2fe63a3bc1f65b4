import { beforeAll } from 'vitest';
import { useBusApp, type BusTestApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { listen, type HttpClient, type RequestOptions } from './http-client.js';

/** The admin token of the management test apps. */
export const ADMIN_TOKEN = 'admin-secret-token';
/** The notify token of the management test apps. */
export const NOTIFY_TOKEN = 'notify-secret-token';

/**
 * `useBusApp` with the management API listening on a real port: registers the hooks and returns
 * the app handle plus an HTTP client that sends the admin token unless told otherwise.
 */
export function useManagementApp(options: Parameters<typeof useBusApp>[0]) {
  const t = useBusApp({
    ...options,
    bus: {
      outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
      ...options.bus,
      http: { adminToken: ADMIN_TOKEN, notifyToken: NOTIFY_TOKEN, ...options.bus?.http },
    },
  });
  let client: HttpClient | undefined;
  beforeAll(async () => {
    client = await listen(t.app, ADMIN_TOKEN);
  });
  const http = (method: string, path: string, request?: RequestOptions) => {
    if (!client) throw new Error('The app is not listening yet: call http inside tests.');
    return client.request(method, `/integration${path}`, request);
  };
  return {
    t,
    http,
    get baseUrl() {
      return client!.baseUrl;
    },
  };
}

/** Creates one user per name in one flush: one outgoing task per subscribed connector each. */
export async function createUsers(t: BusTestApp, names: readonly string[]): Promise<void> {
  const em = t.em();
  for (const userName of names) em.create(User, { userName });
  await em.flush();
}

/** Empties the queue and the users between tests. */
export async function emptyQueue(t: BusTestApp): Promise<void> {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
}
