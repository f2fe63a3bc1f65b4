import { ReferenceKind, type EntityMetadata, type EntityProperty, type FilterQuery } from '@mikro-orm/core';
import { InvalidResyncError } from '../errors/invalid-resync.error.js';

/** Operators a `where` may use on a property, with the kind of operand each takes. */
const OPERATORS: Record<string, 'scalar' | 'list' | 'boolean' | 'negation'> = {
  $eq: 'scalar',
  $ne: 'scalar',
  $gt: 'scalar',
  $gte: 'scalar',
  $lt: 'scalar',
  $lte: 'scalar',
  $like: 'scalar',
  $ilike: 'scalar',
  $in: 'list',
  $nin: 'list',
  $exists: 'boolean',
  $not: 'negation',
};

/** Bounds that keep a filter from the request cheap to check and to run. */
const MAX_DEPTH = 8;
const MAX_NODES = 500;
const MAX_LIST = 1000;

/**
 * Checks a resync's `where` (R-RES-1, R-SEC-3): a MikroORM filter object over the entity's own
 * properties, and nothing else, so that it reaches SQL only through the ORM's bind parameters. It
 * may use `$and`, `$or`, `$not`, the comparison operators above, scalar values, lists of scalars,
 * and filters over the properties of a to-one relation's target (`{ site: { name: 'main' } }`).
 * Any other key is refused, which is what keeps raw SQL out: MikroORM reads a key that is not a
 * property (`'lower(name)'`, say) as an SQL expression.
 * @returns the filter, unchanged
 * @throws InvalidResyncError naming the path of the first part that is not acceptable
 */
export function checkResyncWhere(meta: EntityMetadata<object>, where: unknown): FilterQuery<object> {
  const budget = { nodes: 0 };
  checkFilter(meta, where, 'where', 0, budget);
  return where as FilterQuery<object>;
}

function fail(path: string, problem: string): never {
  throw new InvalidResyncError(path, problem);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function checkFilter(
  meta: EntityMetadata<object>,
  filter: unknown,
  path: string,
  depth: number,
  budget: { nodes: number },
): void {
  if (!isPlainObject(filter)) fail(path, 'must be an object of property conditions');
  if (depth > MAX_DEPTH) fail(path, `nests deeper than ${MAX_DEPTH} levels`);
  for (const [key, value] of Object.entries(filter)) {
    if (++budget.nodes > MAX_NODES) fail(path, `has more than ${MAX_NODES} conditions`);
    const at = `${path}.${key}`;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) fail(at, 'must be a non-empty array of filters');
      value.forEach((item, i) => checkFilter(meta, item, `${at}[${i}]`, depth + 1, budget));
    } else if (key === '$not') {
      checkFilter(meta, value, at, depth + 1, budget);
    } else if (key.startsWith('$')) {
      fail(at, 'is not an accepted operator here (use $and, $or, $not, or a property name)');
    } else {
      const prop = meta.properties[key as keyof typeof meta.properties] as EntityProperty | undefined;
      if (!prop || prop.persist === false) fail(at, `is not a stored property of ${meta.className}`);
      checkCondition(prop, value, at, depth + 1, budget);
    }
  }
}

function checkCondition(
  prop: EntityProperty,
  value: unknown,
  path: string,
  depth: number,
  budget: { nodes: number },
): void {
  if (isScalar(value)) return;
  const toOne =
    prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner);
  if (prop.kind !== ReferenceKind.SCALAR && !toOne) {
    fail(path, 'is not a column or a to-one relation: collections and embeddables cannot be filtered on');
  }
  if (!isPlainObject(value)) fail(path, 'must be a value, an operator object, or (for a relation) a filter');
  const keys = Object.keys(value);
  if (keys.length === 0) fail(path, 'must not be empty');
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length === keys.length) {
    checkOperators(prop, value, path, depth, budget);
    return;
  }
  if (!toOne || !prop.targetMeta) fail(path, 'must be a value or an operator object such as { "$gt": 1 }');
  checkFilter(prop.targetMeta as EntityMetadata<object>, value, path, depth, budget);
}

function checkOperators(
  prop: EntityProperty,
  operators: Record<string, unknown>,
  path: string,
  depth: number,
  budget: { nodes: number },
): void {
  for (const [op, operand] of Object.entries(operators)) {
    const at = `${path}.${op}`;
    const kind = OPERATORS[op];
    if (!kind) fail(at, `is not an accepted operator (${Object.keys(OPERATORS).join(', ')})`);
    if (kind === 'scalar' && !isScalar(operand)) fail(at, 'must be a string, number, boolean or null');
    if (kind === 'boolean' && typeof operand !== 'boolean') fail(at, 'must be true or false');
    if (kind === 'list') {
      if (!Array.isArray(operand) || operand.length > MAX_LIST || !operand.every(isScalar)) {
        fail(at, `must be an array of at most ${MAX_LIST} strings, numbers or booleans`);
      }
    }
    if (kind === 'negation') {
      if (depth > MAX_DEPTH) fail(at, `nests deeper than ${MAX_DEPTH} levels`);
      checkCondition(prop, operand, at, depth + 1, budget);
    }
  }
}
