import { beforeAll } from 'vitest';
import { useBusApp } from '../support/bus-app.js';
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
