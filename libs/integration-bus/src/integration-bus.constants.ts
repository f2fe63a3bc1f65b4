/** Metadata keys, namespaced so they cannot clash with the host app's own. */
export const INTEGRATION_OBJECT_METADATA = 'integration-bus:object';
export const INTEGRATION_DOCUMENT_METADATA = 'integration-bus:document';
export const CONNECTOR_METADATA = 'integration-bus:connector';
export const SUBSCRIBE_METADATA = 'integration-bus:subscribe';

/** Matches, as a subscription's `siteName`, only objects that belong to no site. */
export const GLOBAL_OBJECTS = '##GLOBAL##';

/** The name the event log uses for entries written by the bus itself. */
export const INTEGRATION_BUS_SOURCE = 'Integration bus';
