/*
 * Imported first by the package's entry points for its side effect: a clear start-up error on a
 * Node.js older than 22.17. On Node 22.0–22.16 this is the error a host sees. On Node 20 and older,
 * MikroORM's own imports fail while Node links the modules, before any module (this one included)
 * runs: the README's troubleshooting section maps that error to the same cause.
 */
import { assertSupportedNodeVersion } from './node-version.js';

assertSupportedNodeVersion();
