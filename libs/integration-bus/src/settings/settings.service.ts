import { Inject, Injectable } from '@nestjs/common';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type {
  IntegrationBusSettings,
  ResolvedIntegrationBusOptions,
} from '../interfaces/integration-bus-options.interface.js';
import { SETTING_KEYS } from '../interfaces/resolve-options.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { EventLogStore } from '../persistence/event-log.store.js';
import { SettingStore } from '../persistence/setting.store.js';
import { RefreshingValue } from '../support/refreshing-value.js';

/** How long an instance may take to see a switch changed by another instance. */
const SETTINGS_TTL_MS = 1000;

/** The five switches (R-SET-1): defaults from options, overrides stored in the database. */
@Injectable()
export class SettingsService {
  readonly #current: RefreshingValue<IntegrationBusSettings>;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
    private readonly store: SettingStore,
    private readonly eventLog: EventLogStore,
  ) {
    this.#current = new RefreshingValue(
      async () => ({ ...this.options.settings, ...(await this.store.read()) }),
      SETTINGS_TTL_MS,
    );
  }

  /** The switches as stored. */
  get(): Promise<IntegrationBusSettings> {
    return this.#current.get();
  }

  /** Reads the switches again now (another instance changed them). */
  async refresh(): Promise<void> {
    await this.#current.refresh();
  }

  /** The switches as they act: each of the four is on only while the bus is enabled. */
  async effective(): Promise<IntegrationBusSettings> {
    const s = await this.get();
    return {
      enabled: s.enabled,
      logOutgoing: s.enabled && s.logOutgoing,
      processOutgoing: s.enabled && s.processOutgoing,
      logIncoming: s.enabled && s.logIncoming,
      processIncoming: s.enabled && s.processIncoming,
    };
  }

  /** Changes some switches; unknown keys or non-boolean values are rejected, nothing written. */
  async update(patch: Partial<IntegrationBusSettings>): Promise<IntegrationBusSettings> {
    if (!patch || typeof patch !== 'object') throw new InvalidOptionsError('Settings must be an object.');
    for (const [key, value] of Object.entries(patch)) {
      if (!(SETTING_KEYS as readonly string[]).includes(key)) {
        throw new InvalidOptionsError(`Unknown setting "${key}"; known: ${SETTING_KEYS.join(', ')}.`);
      }
      if (typeof value !== 'boolean') throw new InvalidOptionsError(`Setting "${key}" must be a boolean.`);
    }
    const before = await this.#current.refresh();
    await this.store.write(patch);
    const after = await this.#current.refresh();
    // Switching processing off is the first thing an operator looks for when a queue stops moving.
    const changes = SETTING_KEYS.filter((key) => before[key] !== after[key]).map(
      (key) => `${key} ${before[key]} → ${after[key]}`,
    );
    if (changes.length > 0) {
      await this.eventLog.write({
        level: 'info',
        source: BUS_EVENT_SOURCE,
        eventCode: BusEventCodes.SettingsChanged,
        message: `Settings changed: ${changes.join(', ')}.`,
      });
    }
    return after;
  }
}
