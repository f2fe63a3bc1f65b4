import { Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import { CONNECTOR_METADATA } from '../integration-bus.constants.js';

/** Options of `@Connector`. */
export interface ConnectorOptions {
  /** Name shown in the admin page. Default: the code name. */
  displayName?: string;
  /** Whether the connector row is created enabled (an existing row keeps its own). Default: `true`. */
  enabled?: boolean;
  /**
   * Forget the external ids cached by `translateColumnsToExternal` after each task, so code-name
   * collisions between tasks cannot leak. Default: `true`.
   */
  clearTranslationsAfterEachTask?: boolean;
}

/** Metadata `@Connector` stores on the class. */
export interface ConnectorMetadata extends Required<ConnectorOptions> {
  codeName: string;
}

/**
 * Marks a provider as an integration connector. The class must extend `BaseIntegrationConnector`
 * and be listed in a module's providers; the code name must be unique.
 */
export function Connector(codeName: string, options: ConnectorOptions = {}): ClassDecorator {
  if (typeof codeName !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(codeName)) {
    throw new TypeError(
      `@Connector() needs a code name of 1-100 letters, digits, '_', '.' or '-'; got ${JSON.stringify(codeName)}.`,
    );
  }
  const metadata: ConnectorMetadata = {
    codeName,
    displayName: options.displayName ?? codeName,
    enabled: options.enabled ?? true,
    clearTranslationsAfterEachTask: options.clearTranslationsAfterEachTask ?? true,
  };
  return applyDecorators(Injectable(), SetMetadata(CONNECTOR_METADATA, metadata));
}
