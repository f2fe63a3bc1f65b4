import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { registerOfficialSdk } from '../../support/otel-sdk.js';

/*
 * A host's tracing file, imported first (before anything loads amqplib or express): the official
 * SDK, and the official HTTP and amqplib instrumentations, which patch those modules as they load.
 */
export const sdk = registerOfficialSdk();

export const amqplibInstrumentation = new AmqplibInstrumentation();

registerInstrumentations({ instrumentations: [new HttpInstrumentation(), amqplibInstrumentation] });
