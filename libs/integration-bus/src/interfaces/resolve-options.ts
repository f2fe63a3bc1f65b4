import { validateCronExpression } from 'cron';
import type { Registry } from 'prom-client';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type {
  IntegrationBusModuleOptions,
  IntegrationBusSettings,
  ResolvedIntegrationBusOptions,
  ResolvedRetentionOptions,
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

/** Longest retention in days that can be set (ten years); longer is better said with `null`. */
const MAX_RETENTION_DAYS = 3650;

/** Defaults of `retention` (SPEC R-OPS-1): 30 days of sync log and event log, the rest kept. */
export const DEFAULT_RETENTION: ResolvedRetentionOptions = {
  syncLogDays: 30,
  eventLogDays: 30,
  eventLogMaxRows: null,
  parkedDays: null,
  intakeSequenceDays: null,
};

/** A retention limit: a positive integer, `null` (kept for ever), or the default when left out. */
function retentionLimit(value: unknown, name: string, fallback: number | null, max: number): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionsError(
      `retention.${name} must be a whole number from 1 to ${max}, or null to keep for ever, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

function retention(value: unknown): ResolvedRetentionOptions {
  if (value === undefined || value === null) return { ...DEFAULT_RETENTION };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionsError(`retention must be an object, got ${JSON.stringify(value)}.`);
  }
  const given = value as Record<string, unknown>;
  const unknownKey = Object.keys(given).find((key) => !(key in DEFAULT_RETENTION));
  if (unknownKey !== undefined) {
    throw new InvalidOptionsError(
      `retention.${unknownKey} is not an option; retention takes ${Object.keys(DEFAULT_RETENTION).join(', ')}.`,
    );
  }
  const days = (key: keyof ResolvedRetentionOptions) =>
    retentionLimit(given[key], key, DEFAULT_RETENTION[key], MAX_RETENTION_DAYS);
  return {
    syncLogDays: days('syncLogDays'),
    eventLogDays: days('eventLogDays'),
    eventLogMaxRows: retentionLimit(given.eventLogMaxRows, 'eventLogMaxRows', null, 1_000_000_000),
    parkedDays: days('parkedDays'),
    intakeSequenceDays: days('intakeSequenceDays'),
  };
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
    retention: retention(options.retention),
  };
}
