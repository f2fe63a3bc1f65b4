import { IntegrationBusError } from './integration-bus.error.js';

/** A foreign key could not be translated, e.g. it points at an object deleted before the task was logged. */
export class TranslationError extends IntegrationBusError {}
