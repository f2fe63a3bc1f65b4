import { createRequire } from 'node:module';
import type { Ajv2020 as Ajv2020Type, ValidateFunction } from 'ajv/dist/2020.js';
import { relaySchema, RELAY_SCHEMA_FILES } from 'nestjs-integration-bus';

const require = createRequire(import.meta.url);
const { Ajv2020 } = require('ajv/dist/2020') as { Ajv2020: typeof Ajv2020Type };
const addFormats = require('ajv-formats') as (ajv: Ajv2020Type) => Ajv2020Type;

/**
 * A JSON Schema validator (ajv, draft 2020-12, formats checked) over the schemas the package
 * ships: what a consumer in another language would run against a relayed body.
 */
export function relaySchemaValidator(which: keyof typeof RELAY_SCHEMA_FILES): ValidateFunction {
  const ajv = addFormats(new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: true }));
  return ajv.compile(relaySchema(which));
}

/** Asserts that `value` validates, naming the errors when it does not. */
export function expectValid(validate: ValidateFunction, value: unknown): void {
  if (!validate(value)) throw new Error(`schema errors: ${JSON.stringify(validate.errors, null, 2)}`);
}
