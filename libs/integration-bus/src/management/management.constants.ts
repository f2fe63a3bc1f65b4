/**
 * Key under which the admin page and the API docs page keep the admin token in `sessionStorage`:
 * asked once per browser tab, gone when the tab closes.
 */
export const ADMIN_TOKEN_STORAGE_KEY = 'integration-bus.admin-token';

/** Tag of the management API in the OpenAPI document. */
export const MANAGEMENT_API_TAG = 'Integration bus';

/** Name of the bearer security scheme of the OpenAPI document. */
export const ADMIN_BEARER_SCHEME = 'admin-token';

/** Name of the bearer security scheme of the notify and incoming endpoints in the OpenAPI document. */
export const NOTIFY_BEARER_SCHEME = 'notify-token';
