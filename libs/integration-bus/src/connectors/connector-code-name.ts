/**
 * Names a connector may not have: those of `Object.prototype` (`__proto__`, `constructor`, …) and
 * `prototype`. Code names end up as keys of plain objects (metrics labels, JSON answers, the admin
 * page's state), where such a key reads or replaces something else than an entry.
 */
const RESERVED = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Why a code name cannot be used (worded to follow "code name"), or `null` when it can. */
export function reservedCodeNameProblem(codeName: string): string | null {
  return RESERVED.has(codeName)
    ? `is reserved: "${codeName}" is a name of Object.prototype; choose another.`
    : null;
}

/** The key code names are compared by for uniqueness: two names differing only in case clash. */
export function codeNameKey(codeName: string): string {
  return codeName.toLowerCase();
}
