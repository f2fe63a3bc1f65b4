import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
import { InstanceId } from '../connectors/instance-id.js';
import { keepRenewing } from '../delivery/lease-renewal.js';
import { settlesWithin } from '../support/settles-within.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { describeError } from '../events/integration-event-publisher.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { EventLogStore } from '../persistence/event-log.store.js';
import {
  ResyncChunks,
  ResyncStopped,
  type ChunkRead,
  type ChunkResult,
  type ResyncPlan,
} from './resync-chunk.js';
import { isRowKey, resolveResyncTarget, type RowKey } from './resync-target.js';
import { ResyncStore, type ResyncRecord, type ResyncToken } from './resync.store.js';

/** Consecutive failed chunks after which a resync is marked failed (the database back for good or not). */
const MAX_FAILURES = 5;

/** How long an instance without a resync's connector leaves it to the others before looking again. */
const NOT_HERE_RETRY_MS = 30_000;

/** Weight of the last chunk in the rate a resync shows (an exponential moving average). */
const RATE_WEIGHT = 0.3;

/** One resync this instance runs. */
interface Run {
  token: ResyncToken;
  stopped: boolean;
  finished: Promise<void>;
}

/**
 * Runs resyncs (R-RES-1), one instance per resync: the instance that starts one runs it, holding
 * its lease; every instance looks for running resyncs nobody holds (the runner crashed, was
 * stopped, or shut down and gave it back) every third of `leaseMs` and takes them over, from their
 * stored position. A run goes chunk after chunk (`ResyncChunks.next`) until no row is left, renewing
 * its lease meanwhile; it stops when the lease is lost (cancelled, or taken over after a pause), and
 * gives the lease back when the application stops.
 *
 * Lifecycle: polling starts at `onApplicationBootstrap`, after the connectors are loaded; at
 * `onApplicationShutdown` the runs stop after their chunk under way (which commits or rolls back
 * whole) and release their leases, before MikroORM's pool closes (the host closes it later).
 */
@Injectable()
export class ResyncRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly #logger = new Logger('IntegrationBus');
  readonly #runs = new Map<number, Run>();
  /**
   * Resyncs this instance cannot run (its connector or entity is not loaded here), with when it
   * looks again (a connector may be added meanwhile).
   */
  readonly #notHere = new Map<number, number>();
  #poll: NodeJS.Timeout | undefined;
  #polling = false;
  #stopping = false;

  constructor(
    private readonly store: ResyncStore,
    private readonly chunks: ResyncChunks,
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly eventLog: EventLogStore,
    private readonly instance: InstanceId,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  /** How often an instance looks for resyncs to take over. */
  get pollMs(): number {
    return Math.min(2000, Math.max(250, Math.floor(this.options.leaseMs / 3)));
  }

  onApplicationBootstrap(): void {
    this.#poll = setInterval(() => void this.adopt(), this.pollMs);
    this.#poll.unref();
    // Resyncs a stopped instance left are taken over at once, not a period later.
    void this.adopt();
  }

  async onApplicationShutdown(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    for (const run of this.#runs.values()) run.stopped = true;
    const all = Promise.all([...this.#runs.values()].map((run) => run.finished));
    if (await settlesWithin(all, this.options.shutdownTimeoutMs)) return;
    // Their chunk still commits or rolls back whole; the host's pool waits for its connection.
    this.#logger.warn(
      `Resync ${[...this.#runs.keys()].join(', ')} still running ${this.options.shutdownTimeoutMs} ms into shutdown (shutdownTimeoutMs): its lease runs out if it is not given back`,
    );
  }

  /** This instance's identity on the leases. */
  get owner(): string {
    return this.instance.value;
  }

  /** Whether this instance is running the resync now. */
  isRunning(id: number): boolean {
    return this.#runs.has(id);
  }

  /** Runs a resync this instance has just created, holding its lease at `epoch`. */
  start(id: number, epoch: string): void {
    this.launch({ id, owner: this.owner, epoch });
  }

  /** Stops running a resync here, if it runs here (it was cancelled). */
  stop(id: number): void {
    const run = this.#runs.get(id);
    if (run) run.stopped = true;
  }

  /** Takes over the running resyncs nobody holds. */
  async adopt(): Promise<void> {
    if (this.#polling || this.#stopping) return;
    this.#polling = true;
    try {
      for (const id of await this.store.orphans()) {
        if (this.#stopping) break;
        if (this.#runs.has(id) || (this.#notHere.get(id) ?? 0) > Date.now()) continue;
        const epoch = await this.store.claim(id, this.owner, this.options.leaseMs);
        if (epoch === null) continue;
        const token = { id, owner: this.owner, epoch };
        // Shutdown began while the claim was under way: it waits only for the runs it saw, so this
        // one is given back rather than started against a pool about to close.
        if (this.#stopping) await this.store.release(token);
        else this.launch(token);
      }
    } catch (error) {
      this.#logger.debug(`Could not look for resyncs to take over: ${describeError(error)}`);
    } finally {
      this.#polling = false;
    }
  }

  private launch(token: ResyncToken): void {
    const run: Run = { token, stopped: false, finished: Promise.resolve() };
    this.#runs.set(token.id, run);
    run.finished = this.run(run)
      .catch((error: unknown) => {
        this.#logger.error(`Resync ${token.id} stopped: ${describeError(error)}`);
      })
      .finally(() => this.#runs.delete(token.id));
  }

  private async run(run: Run): Promise<void> {
    const { token } = run;
    const { leaseMs } = this.options;
    const record = await this.store.get(token.id);
    if (!record || record.status !== 'running') return;
    const plan = this.planOf(record);
    if (!plan) {
      // Another application shares the database: let an instance that has the connector run it.
      this.#notHere.set(token.id, Date.now() + NOT_HERE_RETRY_MS);
      await this.store.release(token);
      return;
    }
    let lost = false;
    let finished = false;
    const renewal = keepRenewing(
      leaseMs,
      () =>
        lost
          ? null
          : this.store.renew(token, leaseMs).then((held) => {
              if (!held) lost = true;
            }),
      () => undefined, // unreachable database: the next chunk will tell
    );
    let position: RowKey | null = isRowKey(plan.target.meta, record.position) ? record.position : null;
    let rate = record.rate;
    let failures = 0;
    let lastAt = performance.now();
    const stopped = () => run.stopped || lost || this.#stopping;
    const completed = (result: ChunkResult): void => {
      failures = 0;
      const now = performance.now();
      const seconds = (now - lastAt) / 1000;
      lastAt = now;
      if (result.rows === 0 || seconds <= 0) return;
      const current = result.rows / seconds;
      rate = rate === null ? current : rate * (1 - RATE_WEIGHT) + current * RATE_WEIGHT;
    };
    /** The chunk the current one overlaps: read, still logging or committing (see resync-chunk.ts). */
    let committing: Promise<ChunkResult> | undefined;
    try {
      while (!stopped()) {
        let onRead!: (read: ChunkRead | null) => void;
        const read = new Promise<ChunkRead | null>((resolve) => (onRead = resolve));
        const chunk = this.chunks.next(plan, token, position, {
          leaseMs,
          rate,
          stopped,
          after: committing,
          onRead,
        });
        // A chunk that fails before its read never calls onRead.
        chunk.catch(() => onRead(null));
        try {
          const ahead = await read;
          if (committing) completed(await committing);
          committing = undefined;
          if (ahead && !ahead.leftovers && !stopped()) {
            // Its range is fixed: the next chunk may start while this one logs and commits.
            committing = chunk;
            position = ahead.upper;
            continue;
          }
          const result = await chunk;
          if (result.finished) {
            finished = await this.end(token, record, 'done', null);
            break;
          }
          completed(result);
          position = result.position;
        } catch (error) {
          // Both chunks in flight settle first: neither is left half-way.
          await Promise.allSettled([committing, chunk]);
          committing = undefined;
          // Cancelled, taken over, or stopping: the chunks under way rolled back whole.
          if (error instanceof ResyncStopped || stopped()) break;
          failures += 1;
          const fatal = error instanceof ConnectorDisabledError || failures >= MAX_FAILURES;
          if (fatal) {
            finished = await this.end(token, record, 'failed', describeError(error));
            break;
          }
          this.#logger.warn(`Resync ${token.id}, chunk failed (${failures}): ${describeError(error)}`);
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
          // On from what committed.
          const stored = await this.store.get(token.id);
          if (stored?.status !== 'running') break;
          position = isRowKey(plan.target.meta, stored.position) ? stored.position : null;
        }
      }
      await committing?.catch(() => undefined);
    } finally {
      renewal.stop();
      // Given back so that the next instance (or this one, restarted) goes on at once; the release
      // is fenced, so a lease lost meanwhile stays with whoever took it.
      if (!finished) await this.store.release(token).catch(() => undefined);
    }
  }

  /** What a stored resync reads, or `undefined` when this instance lacks its connector or entity. */
  private planOf(record: ResyncRecord): ResyncPlan | undefined {
    try {
      this.registry.get(record.connectorName);
      const target = resolveResyncTarget(this.orm.getMetadata(), record.objectType);
      return {
        target,
        where: record.where ?? undefined,
        connectorName: record.connectorName,
        chunkSize: record.chunkSize,
      };
    } catch (error) {
      if (error instanceof IntegrationBusError) return undefined;
      throw error;
    }
  }

  /** Finishes a resync this instance holds, and says so in the event log. */
  private async end(
    token: ResyncToken,
    record: ResyncRecord,
    status: 'done' | 'failed',
    errorMessage: string | null,
  ): Promise<boolean> {
    if (!(await this.store.finish(token, status, errorMessage))) return false;
    const what = `Resync ${token.id} of ${record.objectType} for ${record.connectorName}`;
    await this.eventLog
      .write({
        level: status === 'done' ? 'info' : 'error',
        source: BUS_EVENT_SOURCE,
        eventCode: status === 'done' ? BusEventCodes.ResyncFinished : BusEventCodes.ResyncFailed,
        message: status === 'done' ? `${what} finished.` : `${what} failed: ${errorMessage}`,
        connectorName: record.connectorName,
      })
      .catch(() => undefined);
    return true;
  }
}
