import { AdminTokenGuard } from '../guards/admin-token.guard.js';
import { ADMIN_BEARER_SCHEME } from '../management.constants.js';
import { busApiController } from './bus-api-controller.js';

/** A controller of the admin API under `/{http.path}/{path}`: the admin token required (R-SEC-1). */
export function AdminApiController(path: string): ClassDecorator {
  return busApiController(path, {
    guard: AdminTokenGuard,
    scheme: ADMIN_BEARER_SCHEME,
    token: 'admin',
    off: 'the admin API is',
  });
}
