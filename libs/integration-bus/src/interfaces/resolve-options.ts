import { validateCronExpression } from 'cron';
import type { Registry } from 'prom-client';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type {
  IntegrationBusModuleOptions,
  IntegrationBusSettings,
  ResolvedIntegrationBusOptions,
} from './integration-bus-options.interface.js';

/** Default of `idempotencyWindowMs`: 7 days, in milliseconds. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** Names of the five switches, in the order of SPEC §6. */
export const SETTING_KEYS = [
  'enabled',
  'logOutgoing',
  'processOutgoing',
  'logIncoming',
  'processIncoming',
] as const;

function boolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  // The string "false" is truthy: insist on a real boolean so that env-driven config cannot surprise.
  if (typeof value !== 'boolean')
    throw new InvalidOptionsError(`${name} must be a boolean, got ${JSON.stringify(value)}.`);
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/** An integer threshold, or null (the check is off). */
function threshold(value: unknown, name: string, max: number): number | null {
  if (value === undefined || value === null) return null;
  return integer(value, name, 0, 0, max);
}

function promRegistry(value: unknown): Registry | undefined {
  if (value === undefined || value === null) return undefined;
  // Checked by shape, not instanceof: the host may load its own copy of prom-client.
  const registry = value as Partial<Registry>;
  if (typeof registry.registerMetric !== 'function' || typeof registry.metrics !== 'function') {
    throw new InvalidOptionsError('metrics.registry must be a prom-client Registry.');
  }
  return value as Registry;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidOptionsError(`${name} must be a string.`);
  return value;
}

/** Applies the defaults of SPEC §3.2 and rejects values that cannot work, naming the option. */
export function resolveOptions(options: IntegrationBusModuleOptions = {}): ResolvedIntegrationBusOptions {
  const settings = {} as IntegrationBusSettings;
  for (const key of SETTING_KEYS) settings[key] = boolean(options.settings?.[key], `settings.${key}`, true);
  const path = (optionalString(options.http?.path, 'http.path') ?? 'integration').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9_\-/]+$/.test(path)) {
    throw new InvalidOptionsError(`http.path may hold letters, digits, '-', '_' and '/', got "${path}".`);
  }
  const adminToken = optionalString(options.http?.adminToken, 'http.adminToken');
  const viewerToken = optionalString(options.http?.viewerToken, 'http.viewerToken');
  if (viewerToken !== undefined && viewerToken === adminToken) {
    // One token cannot be both: a request with it could not be told read-only.
    throw new InvalidOptionsError('http.viewerToken must differ from http.adminToken.');
  }
  const cron = optionalString(options.incoming?.cron, 'incoming.cron') ?? '0 * * * * *';
  const cronCheck = validateCronExpression(cron);
  if (!cronCheck.valid) {
    throw new InvalidOptionsError(
      `incoming.cron is not a cron expression: "${cron}" (${cronCheck.error?.message ?? 'invalid'}).`,
    );
  }
  return {
    settings,
    incoming: {
      cron,
      enabled: boolean(options.incoming?.enabled, 'incoming.enabled', true),
    },
    outgoing: {
      processAfterCommit: boolean(options.outgoing?.processAfterCommit, 'outgoing.processAfterCommit', true),
      sweepIntervalMs: integer(
        options.outgoing?.sweepIntervalMs,
        'outgoing.sweepIntervalMs',
        60_000,
        0,
        86_400_000,
      ),
    },
    http: {
      path,
      adminToken,
      viewerToken,
      notifyToken: optionalString(options.http?.notifyToken, 'http.notifyToken'),
      allowUnauthenticated: boolean(options.http?.allowUnauthenticated, 'http.allowUnauthenticated', false),
    },
    metrics: { registry: promRegistry(options.metrics?.registry) },
    health: {
      maxTaskAgeMs: threshold(options.health?.maxTaskAgeMs, 'health.maxTaskAgeMs', 31_536_000_000),
      maxBlockedMs: threshold(options.health?.maxBlockedMs, 'health.maxBlockedMs', 31_536_000_000),
      maxParked: threshold(options.health?.maxParked, 'health.maxParked', 1_000_000_000),
    },
    batchSize: integer(options.batchSize, 'batchSize', 500, 1, 10_000),
    batchMaxDurationMs: integer(options.batchMaxDurationMs, 'batchMaxDurationMs', 1_000, 1, 600_000),
    leaseMs: integer(options.leaseMs, 'leaseMs', 6_000, 1_000, 600_000),
    shutdownTimeoutMs: integer(options.shutdownTimeoutMs, 'shutdownTimeoutMs', 10_000, 0, 600_000),
    // Up to a year: a key is a row per task logged with one, kept that long.
    idempotencyWindowMs: integer(
      options.idempotencyWindowMs,
      'idempotencyWindowMs',
      DEFAULT_IDEMPOTENCY_WINDOW_MS,
      1_000,
      366 * 86_400_000,
    ),
    preparedStatements: boolean(options.preparedStatements, 'preparedStatements', true),
  };
}
