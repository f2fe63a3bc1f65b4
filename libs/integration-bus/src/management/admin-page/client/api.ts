/** The admin page's access to the management API, with the admin token of the browser tab. */

/** An answer of the API that was not 2xx. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** `sessionStorage` key of the token, shared with the API docs page (set by the server on `<body>`). */
const TOKEN_KEY = document.body.dataset.tokenKey ?? 'integration-bus.admin-token';

/** `/{path}`: the page is served at `/{path}/admin`. */
const base = location.pathname.replace(/\/+$/, '').replace(/\/admin$/, '');

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let onUnauthorized: (message: string | null) => void = () => undefined;

/** The token the page sends, or null. */
export function currentToken(): string | null {
  return token;
}

/** Sets the token; `remember` keeps it for the tab. */
export function useToken(value: string | null, remember = false): void {
  token = value;
  if (value === null) sessionStorage.removeItem(TOKEN_KEY);
  else if (remember && value) sessionStorage.setItem(TOKEN_KEY, value);
}

/** What the page does on a 401 (ask for the token again). */
export function whenUnauthorized(handler: (message: string | null) => void): void {
  onUnauthorized = handler;
}

/** Calls the API; resolves with the parsed JSON, rejects with an `ApiError`. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!res.ok) {
    const message = (data as { message?: unknown } | null)?.message;
    const error = new ApiError(
      typeof message === 'string' && message ? message : res.statusText || `HTTP ${res.status}`,
      res.status,
    );
    if (res.status === 401) onUnauthorized(token ? 'The token was not accepted. Enter it again.' : null);
    throw error;
  }
  return data as T;
}

/** A query string of the defined, non-empty parameters (with its `?`), or ''. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Shows a failed call as an error toast (a 401 already asked for the token). */
export function reportFailure(show: (message: string) => void): (error: unknown) => void {
  return (error) => {
    if (error instanceof ApiError && error.status === 401) return;
    show(error instanceof Error ? error.message : String(error));
  };
}
