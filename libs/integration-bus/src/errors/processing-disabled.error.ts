import { IntegrationBusError } from './integration-bus.error.js';

/** Processing was asked for while the bus or the processing switch is off (R-SET-1). */
export class ProcessingDisabledError extends IntegrationBusError {}
