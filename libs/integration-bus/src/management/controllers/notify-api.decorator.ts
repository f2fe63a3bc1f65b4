import { NotifyTokenGuard } from '../guards/notify-token.guard.js';
import { NOTIFY_BEARER_SCHEME } from '../management.constants.js';
import { busApiController } from './bus-api-controller.js';

/**
 * A controller of the endpoints external systems call, under `/{http.path}/{path}`: the notify token
 * required (R-SEC-2; the admin token does not open them). The counterpart of `AdminApiController`.
 */
export function NotifyApiController(path: string): ClassDecorator {
  return busApiController(path, {
    guard: NotifyTokenGuard,
    scheme: NOTIFY_BEARER_SCHEME,
    token: 'notify',
    off: 'the notify endpoints are',
  });
}
