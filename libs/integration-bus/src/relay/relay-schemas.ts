import { createRequire } from 'node:module';

/** A JSON Schema document (draft 2020-12), as parsed JSON. */
export type JsonSchemaDocument = Readonly<Record<string, unknown>>;

/** `$id` of the JSON Schema of `RelayEnvelope`, the default message body (R-ECO-5). */
export const RELAY_ENVELOPE_SCHEMA_ID = 'urn:nestjs-integration-bus:schema:relay-envelope:1';

/**
 * `$id` of the JSON Schema of `RelayCloudEventData`, the data of a relayed CloudEvent: the
 * `dataschema` attribute such messages carry unless the relay names another.
 */
export const RELAY_CLOUDEVENT_DATA_SCHEMA_ID = 'urn:nestjs-integration-bus:schema:relay-cloudevent-data:1';

/** File names of the schemas in the package's `schemas/` folder (`nestjs-integration-bus/schemas/…`). */
export const RELAY_SCHEMA_FILES = {
  envelope: 'relay-envelope.schema.json',
  cloudEventData: 'relay-cloudevent-data.schema.json',
} as const;

const cache = new Map<string, JsonSchemaDocument>();

/**
 * One of the JSON Schemas the package ships in `schemas/` (R-ECO-5). The files are the source: they
 * sit beside `src/` and `dist/` alike, so this reads the same document in the repository and in the
 * installed package.
 */
export function relaySchema(which: keyof typeof RELAY_SCHEMA_FILES): JsonSchemaDocument {
  const file = RELAY_SCHEMA_FILES[which];
  let schema = cache.get(file);
  if (!schema) {
    schema = createRequire(import.meta.url)(`../../schemas/${file}`) as JsonSchemaDocument;
    cache.set(file, schema);
  }
  return structuredClone(schema); // a copy: a caller that changes it changes no one else's
}
