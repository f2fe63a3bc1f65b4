/*
 * Imported first by the package's entry points for its side effect: a clear start-up error on a
 * Node.js older than 22.17, instead of MikroORM's `globSync` import error, which otherwise surfaces
 * later, when MikroORM loads its file utilities (checked on Node 20.20: a host app importing
 * MikroORM and this package stops here, with this message).
 */
import { assertSupportedNodeVersion } from './node-version.js';

assertSupportedNodeVersion();
