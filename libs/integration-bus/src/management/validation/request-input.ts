import { BadRequestException } from '@nestjs/common';

/**
 * A request's body, query or path parameter that is not acceptable: a 400 whose message starts
 * with the field's name and that carries it as `field` (R-SEC-3). Thrown before anything is
 * written.
 */
export class RequestValidationError extends BadRequestException {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super({ statusCode: 400, error: 'Bad Request', field, message: `${field} ${problem}` });
  }
}

/** Where a value came from: query values are strings, body values JSON. */
type Source = 'query' | 'body' | 'path';

/** How deep a request body may nest: far more than any real record, far less than the stack allows. */
export const MAX_BODY_DEPTH = 64;

/** A value as an error message shows it: as JSON, cut to 60 characters. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A value nested deep enough overflows JSON.stringify's stack: the message must not become a 500.
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Whether a parsed JSON value nests deeper than `limit`; iterative, so any depth is safe to check. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Rules of a string field. */
export interface StringRule {
  /** Longest accepted length. */
  max: number;
  /** A pattern the whole value must match, with what it means for the message. */
  pattern?: { regex: RegExp; hint: string };
}

/**
 * Reads and checks the fields of one request part, naming the field in every error. Unknown
 * fields are errors too, so that a misspelt `enabeld` is not silently ignored. Values only ever
 * reach SQL as bind parameters.
 */
export class RequestInput {
  private constructor(
    private readonly source: Source,
    private readonly values: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * A JSON body that must be an object with only `allowed` fields. A missing body counts as `{}`
   * when `optional`.
   */
  static body(
    value: unknown,
    allowed: readonly string[],
    options: { optional?: boolean } = {},
  ): RequestInput {
    if (value === undefined || value === null || value === '') {
      if (options.optional) return new RequestInput('body', {});
      throw new RequestValidationError(
        'body',
        'is required: send a JSON object (Content-Type: application/json).',
      );
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new RequestValidationError('body', 'must be a JSON object.');
    }
    if (nestsDeeperThan(value, MAX_BODY_DEPTH)) {
      throw new RequestValidationError(
        'body',
        `must not nest objects or arrays more than ${MAX_BODY_DEPTH} levels deep.`,
      );
    }
    return new RequestInput('body', value as Record<string, unknown>).only(allowed);
  }

  /** A query string with only `allowed` parameters, each given at most once. */
  static query(value: unknown, allowed: readonly string[]): RequestInput {
    const values = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    for (const [key, v] of Object.entries(values)) {
      if (typeof v !== 'string')
        throw new RequestValidationError(key, 'must be given once, as a plain value.');
    }
    return new RequestInput('query', values).only(allowed);
  }

  /** A route parameter, e.g. `id` of `/tasks/:id`. */
  static path(name: string, value: unknown): RequestInput {
    return new RequestInput('path', { [name]: value });
  }

  private only(allowed: readonly string[]): this {
    for (const key of Object.keys(this.values)) {
      if (!allowed.includes(key)) {
        throw new RequestValidationError(
          key,
          `is not a known field${allowed.length ? `; expected ${allowed.join(', ')}` : ''}.`,
        );
      }
    }
    return this;
  }

  /** Whether the field is present (and not null). */
  has(key: string): boolean {
    const value = this.values[key];
    return value !== undefined && value !== null && !(this.source === 'query' && value === '');
  }

  /** A string of at most `rule.max` characters, matching `rule.pattern` if given. */
  string(key: string, rule: StringRule & { required: true }): string;
  string(key: string, rule: StringRule): string | undefined;
  string(key: string, rule: StringRule & { required?: boolean }): string | undefined {
    if (!this.has(key)) return this.missing(key, rule.required);
    const value = this.values[key];
    if (typeof value !== 'string')
      throw new RequestValidationError(key, `must be a string, got ${describe(value)}.`);
    if (value.trim() === '') throw new RequestValidationError(key, 'must not be empty.');
    if (value.length > rule.max)
      throw new RequestValidationError(key, `must be at most ${rule.max} characters long.`);
    if (rule.pattern && !rule.pattern.regex.test(value)) {
      throw new RequestValidationError(key, `${rule.pattern.hint}, got ${describe(value)}.`);
    }
    return value;
  }

  /** `true` or `false`: a JSON boolean in a body, the words `true` / `false` in a query. */
  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const value = this.values[key];
    if (typeof value === 'boolean' && this.source === 'body') return value;
    if (this.source !== 'body' && (value === 'true' || value === 'false')) return value === 'true';
    throw new RequestValidationError(key, `must be true or false, got ${describe(value)}.`);
  }

  /** A whole number from `min` to `max`: a JSON number in a body, digits in a query or path. */
  integer(key: string, range: { min: number; max: number; required: true }): number;
  integer(key: string, range: { min: number; max: number; required?: boolean }): number | undefined;
  integer(key: string, range: { min: number; max: number; required?: boolean }): number | undefined {
    if (!this.has(key)) return this.missing(key, range.required);
    const value = this.values[key];
    const parsed =
      this.source === 'body'
        ? value
        : typeof value === 'string' && /^\d{1,16}$/.test(value)
          ? Number(value)
          : NaN;
    if (
      typeof parsed !== 'number' ||
      !Number.isSafeInteger(parsed) ||
      parsed < range.min ||
      parsed > range.max
    ) {
      throw new RequestValidationError(
        key,
        `must be a whole number from ${range.min} to ${range.max}, got ${describe(value)}.`,
      );
    }
    return parsed;
  }

  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[], options: { required: true }): T;
  oneOf<T extends string>(
    key: string,
    choices: readonly T[],
    options?: { required?: boolean },
  ): T | undefined;
  oneOf<T extends string>(
    key: string,
    choices: readonly T[],
    options: { required?: boolean } = {},
  ): T | undefined {
    if (!this.has(key)) return this.missing(key, options.required);
    const value = this.values[key];
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw new RequestValidationError(key, `must be one of ${choices.join(', ')}, got ${describe(value)}.`);
    }
    return value as T;
  }

  /** A JSON array of 1 to `maxItems` distinct whole numbers from `min` to `max`. */
  integerArray(key: string, rule: { min: number; max: number; maxItems: number }): number[] | undefined {
    if (!this.has(key)) return undefined;
    const value = this.values[key];
    if (!Array.isArray(value) || value.length === 0 || value.length > rule.maxItems) {
      throw new RequestValidationError(key, `must be an array of 1 to ${rule.maxItems} ids.`);
    }
    for (const [index, item] of value.entries()) {
      if (typeof item !== 'number' || !Number.isSafeInteger(item) || item < rule.min || item > rule.max) {
        throw new RequestValidationError(
          `${key}[${index}]`,
          `must be a whole number from ${rule.min} to ${rule.max}, got ${describe(item)}.`,
        );
      }
    }
    return [...new Set(value as number[])];
  }

  /** The raw value of a field: for payloads checked elsewhere. */
  raw(key: string): unknown {
    return this.values[key];
  }

  private missing(key: string, required: boolean | undefined): undefined {
    if (required) throw new RequestValidationError(key, 'is required.');
    return undefined;
  }
}

/** Rule of a connector code name: what `@Connector()` accepts and the API's routes can carry. */
export const CODE_NAME_RULE: StringRule = {
  max: 100,
  pattern: {
    regex: /^[A-Za-z0-9_.-]+$/,
    hint: 'must hold only letters, digits, ".", "_" and "-"',
  },
};

/** Largest id a task (bigserial) can have that JavaScript numbers hold exactly. */
export const MAX_TASK_ID = Number.MAX_SAFE_INTEGER;
