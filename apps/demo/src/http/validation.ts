import { BadRequestException } from '@nestjs/common';

/** Limits of a PostgreSQL `int` column. */
const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;

/** Body of every 400 the demo answers: the message starts with the field it is about. */
export interface FieldErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: string;
  field: string;
}

/** A 400 naming the field that is wrong. */
export class FieldError extends BadRequestException {
  constructor(field: string, problem: string) {
    const body: FieldErrorBody = {
      statusCode: 400,
      error: 'Bad Request',
      message: `${field} ${problem}`,
      field,
    };
    super(body);
  }
}

interface Rules {
  /** The field must be present (and not `null`). */
  required?: boolean;
  /** `null` is accepted and means "clear the value". */
  nullable?: boolean;
}

/** Rules of a string field. */
export interface StringRules extends Rules {
  maxLength: number;
  /** The value must match; `patternHint` says how in the error message. */
  pattern?: RegExp;
  patternHint?: string;
}

/** Rules of a list field. */
export interface ListRules extends Rules {
  /** @default 0 */
  minItems?: number;
  maxItems: number;
}

/** Rules of a numeric field. */
export interface NumberRules extends Rules {
  min?: number;
  max?: number;
}

/**
 * Plain, dependency-free reading of a JSON body or query: each getter checks one field and throws
 * a `FieldError` naming it. `undefined` means "absent", which a PATCH leaves unchanged.
 */
export class Fields {
  private constructor(
    private readonly values: Record<string, unknown>,
    private readonly where: string,
    /** Path of a nested object (`answers[1]`), prefixed to the field names errors give. */
    private readonly path = '',
  ) {}

  /** Accepts only a JSON object whose keys are all in `allowed`. */
  static body(body: unknown, allowed: readonly string[]): Fields {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new FieldError('body', 'must be a JSON object');
    }
    return Fields.checked(body as Record<string, unknown>, allowed, 'body');
  }

  /** Accepts a query string whose parameters are all in `allowed`, each given once. */
  static query(query: Record<string, unknown>, allowed: readonly string[]): Fields {
    for (const [key, value] of Object.entries(query)) {
      if (Array.isArray(value)) throw new FieldError(key, 'must be given once');
    }
    return Fields.checked(query, allowed, 'query');
  }

  private static checked(
    values: Record<string, unknown>,
    allowed: readonly string[],
    where: string,
    path = '',
  ): Fields {
    const fields = new Fields(values, where, path);
    for (const key of Object.keys(values)) {
      if (!allowed.includes(key)) {
        const kind = where === 'query' ? 'query parameter' : 'field';
        throw fields.error(key, `is not a known ${kind} (expected: ${allowed.join(', ')})`);
      }
    }
    return fields;
  }

  /** Whether the field is present at all. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  string(name: string, rules: StringRules & { required: true }): string;
  string(name: string, rules: StringRules & { nullable: true }): string | null | undefined;
  string(name: string, rules: StringRules): string | undefined;
  string(name: string, rules: StringRules): string | null | undefined {
    const value = this.present(name, rules);
    if (value === undefined || value === null) return value;
    if (typeof value !== 'string') throw this.error(name, 'must be a string');
    if (value.trim() === '') throw this.error(name, 'must not be empty');
    if (value.length > rules.maxLength) {
      throw this.error(name, `must be at most ${rules.maxLength} characters`);
    }
    if (rules.pattern && !rules.pattern.test(value)) {
      throw this.error(name, rules.patternHint ?? `must match ${String(rules.pattern)}`);
    }
    return value;
  }

  integer(name: string, rules: NumberRules & { required: true }): number;
  integer(name: string, rules: NumberRules & { nullable: true }): number | null | undefined;
  integer(name: string, rules?: NumberRules): number | undefined;
  integer(name: string, rules: NumberRules = {}): number | null | undefined {
    const value = this.numeric(name, rules);
    if (value === undefined || value === null) return value;
    if (!Number.isInteger(value)) throw this.error(name, 'must be an integer');
    return this.inRange(name, value, { min: INT_MIN, max: INT_MAX, ...rules });
  }

  number(name: string, rules: NumberRules & { required: true }): number;
  number(name: string, rules?: NumberRules): number | undefined;
  number(name: string, rules: NumberRules = {}): number | null | undefined {
    const value = this.numeric(name, rules);
    if (value === undefined || value === null) return value;
    return this.inRange(name, value, rules);
  }

  boolean(name: string, rules: Rules & { required: true }): boolean;
  boolean(name: string, rules?: Rules): boolean | undefined;
  boolean(name: string, rules: Rules = {}): boolean | null | undefined {
    const value = this.present(name, rules);
    if (value === undefined || value === null) return value;
    // Only real booleans: the strings "false" or "0" are exactly what a validator must not guess at.
    if (typeof value !== 'boolean') throw this.error(name, 'must be true or false');
    return value;
  }

  /**
   * A JSON array of objects, each accepting only the keys in `allowed`: read each item's fields
   * from the `Fields` returned; errors name them with their place, e.g. `answers[1].text`.
   */
  objects(name: string, allowed: readonly string[], rules: ListRules & { required: true }): Fields[];
  objects(name: string, allowed: readonly string[], rules: ListRules): Fields[] | undefined;
  objects(name: string, allowed: readonly string[], rules: ListRules): Fields[] | undefined {
    const value = this.present(name, rules);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw this.error(name, 'must be an array');
    const minItems = rules.minItems ?? 0;
    if (value.length < minItems) throw this.error(name, `must have at least ${minItems} item(s)`);
    if (value.length > rules.maxItems) throw this.error(name, `must have at most ${rules.maxItems} items`);
    return value.map((item: unknown, index) => {
      const path = `${this.label(name)}[${index}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new FieldError(path, 'must be a JSON object');
      }
      return Fields.checked(item as Record<string, unknown>, allowed, this.where, path);
    });
  }

  /** The field's name as errors give it: with the path of the object it belongs to. */
  label(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** A 400 naming the field, with its path. */
  error(name: string, problem: string): FieldError {
    return new FieldError(this.label(name), problem);
  }

  /** The raw value, after the required / nullable checks. */
  private present(name: string, rules: Rules): unknown {
    const value = this.values[name];
    if (value === undefined) {
      if (rules.required) throw this.error(name, 'is required');
      return undefined;
    }
    if (value === null && !rules.nullable) {
      throw this.error(name, rules.required ? 'is required' : 'must not be null');
    }
    return value;
  }

  /** A number from a JSON number, or from a decimal string in a query. */
  private numeric(name: string, rules: NumberRules): number | null | undefined {
    const value = this.present(name, rules);
    if (value === undefined || value === null) return value;
    if (this.where === 'query' && typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) {
      return Number(value);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.error(name, 'must be a number');
    return value;
  }

  private inRange(name: string, value: number, rules: NumberRules): number {
    if (rules.min !== undefined && value < rules.min) throw this.error(name, `must be at least ${rules.min}`);
    if (rules.max !== undefined && value > rules.max) throw this.error(name, `must be at most ${rules.max}`);
    return value;
  }
}

/** Parses a numeric route parameter (`/api/users/:id`). */
export function parseId(value: string, name = 'id'): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > INT_MAX) {
    throw new FieldError(name, 'must be a positive integer');
  }
  return Number(value);
}

/** Paging of the list endpoints. */
export interface Page {
  limit: number;
  offset: number;
}

/** Reads `?limit=&offset=` (defaults 100 and 0), rejecting any other query parameter. */
export function readPage(query: Record<string, unknown>): Page {
  const fields = Fields.query(query, ['limit', 'offset']);
  return {
    limit: fields.integer('limit', { min: 1, max: 1000 }) ?? 100,
    offset: fields.integer('offset', { min: 0 }) ?? 0,
  };
}

/** A code name: letters, digits, `_`, `.`, `-` and `@` (user names may be e-mail addresses). */
export const CODE_NAME: Pick<StringRules, 'pattern' | 'patternHint'> = {
  pattern: /^[A-Za-z0-9_.@-]+$/,
  patternHint: "may hold only letters, digits, '_', '.', '-' and '@'",
};

/** A deliberately loose e-mail check: one `@`, something on both sides, no spaces. */
export const EMAIL: Pick<StringRules, 'pattern' | 'patternHint'> = {
  pattern: /^[^\s@]+@[^\s@]+$/,
  patternHint: 'must be an e-mail address',
};
