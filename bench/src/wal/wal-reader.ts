import { Client } from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type {
  ChangeLogStore,
  NewTask,
} from '../../../libs/integration-bus/dist/persistence/change-log.store.js';
import { sqlRows, type BusDatabase } from '../../../libs/integration-bus/dist/persistence/bus-database.js';
import { tableInsert, WAL_PREFIX } from './wal-capture.js';

/** Names of the WAL capture's objects in one database. */
export const WAL_SLOT = 'integration_bus_wal';
const PUBLICATION = 'integration_bus_wal';
const POSITION_TABLE = 'integration_bus_wal_position';

/**
 * Creates what the reader needs in the database: a publication with no table (pgoutput sends only
 * the messages then), the slot, and the table of the last commit queued (written in the same
 * transaction as the tasks, so that a reader restarting between that commit and its acknowledgement
 * does not queue a transaction twice).
 */
export async function prepareWalCapture(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create publication ${PUBLICATION}`);
    await client.query(`select pg_create_logical_replication_slot('${WAL_SLOT}', 'pgoutput')`);
    await client.query(`create table ${POSITION_TABLE} (slot text primary key, lsn pg_lsn not null)`);
  } finally {
    await client.end();
  }
}

/** How far the slot is behind, and how much WAL it keeps. */
export async function slotLag(client: Client): Promise<{ lagBytes: number; retainedBytes: number }> {
  const { rows } = await client.query<{ lag: string; retained: string }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text as lag,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text as retained
       from pg_replication_slots where slot_name = $1`,
    [WAL_SLOT],
  );
  return { lagBytes: Number(rows[0]!.lag), retainedBytes: Number(rows[0]!.retained) };
}

function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/**
 * Reads the slot (pgoutput, `messages: true`) and queues the tasks of each committed transaction
 * through the library's own insert, in commit order, in batches: a batch is written when it holds
 * `maxBatch` tasks or `maxDelayMs` after its first one. The slot is acknowledged only after the
 * batch's transaction has committed, so a reader that stops loses nothing: the slot keeps the WAL
 * from the last acknowledged commit, and the position table skips what was queued but not
 * acknowledged.
 */
export class WalReader {
  readonly #service: LogicalReplicationService;
  readonly #plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [PUBLICATION], messages: true });
  #position = 0n;
  #inTransaction: NewTask[] = [];
  #skip = false;
  #batch: NewTask[] = [];
  #batchLsn: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #busy = false;
  /** Tasks queued so far, and batches written. */
  queued = 0;
  batches = 0;

  constructor(
    url: string,
    private readonly store: ChangeLogStore,
    private readonly db: BusDatabase,
    private readonly options: {
      maxBatch: number;
      maxDelayMs: number;
      /** Called once a batch's transaction has committed. */
      onQueued?: (tasks: readonly NewTask[], at: number) => void;
    },
  ) {
    this.#service = new LogicalReplicationService(
      { connectionString: url },
      { acknowledge: { auto: false, timeoutSeconds: 10 }, flowControl: { enabled: true } },
    );
    this.#service.on('data', (_lsn: string, message: Pgoutput.Message) => this.#receive(message));
    this.#service.on('error', () => {});
    // With nothing of ours pending, the server's position can be confirmed: otherwise the slot would
    // keep every WAL segment written since the last batch (other tables' changes, the reader's own).
    this.#service.on('heartbeat', (lsn: string) => {
      if (this.#idle()) void this.#service.acknowledge(lsn).catch(() => {});
    });
  }

  /** Starts reading from the slot's confirmed position. */
  async start(): Promise<void> {
    const [row] = await sqlRows<{ lsn: string }>(
      this.db.pool,
      `select lsn::text from ${POSITION_TABLE} where slot = $1`,
      [WAL_SLOT],
    );
    this.#position = row ? lsnValue(row.lsn) : 0n;
    const started = new Promise<void>((resolve) => this.#service.once('start', () => resolve()));
    void this.#service.subscribe(this.#plugin, WAL_SLOT).catch(() => {});
    await started;
  }

  /** Stops reading; what is buffered is written first. */
  async stop(): Promise<void> {
    await this.#service.stop();
    clearTimeout(this.#timer);
    await this.#write();
  }

  #idle(): boolean {
    return (
      this.#batch.length === 0 && this.#inTransaction.length === 0 && this.#timer === undefined && !this.#busy
    );
  }

  async #receive(message: Pgoutput.Message): Promise<void> {
    switch (message.tag) {
      case 'begin':
        this.#inTransaction = [];
        // Queued by an earlier reader that stopped before acknowledging: skip it.
        this.#skip = message.commitLsn !== null && lsnValue(message.commitLsn) < this.#position;
        return;
      case 'message':
        if (message.prefix === WAL_PREFIX && !this.#skip) {
          const tasks = JSON.parse(Buffer.from(message.content).toString('utf8')) as NewTask[];
          for (const task of tasks) this.#inTransaction.push(task);
        }
        return;
      case 'commit':
        if (this.#skip || this.#inTransaction.length === 0) return;
        for (const task of this.#inTransaction) this.#batch.push(task);
        this.#inTransaction = [];
        this.#batchLsn = message.commitEndLsn;
        if (this.#batch.length >= this.options.maxBatch) {
          clearTimeout(this.#timer);
          this.#timer = undefined;
          await this.#write();
        } else {
          this.#timer ??= setTimeout(() => {
            this.#timer = undefined;
            void this.#write();
          }, this.options.maxDelayMs);
        }
        return;
      default:
        return;
    }
  }

  /** Writes the batch (one at a time), then acknowledges its last commit. */
  #write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (this.#batch.length === 0 || this.#batchLsn === null) return;
      const tasks = this.#batch;
      const lsn = this.#batchLsn;
      this.#batch = [];
      this.#busy = true;
      await this.db.transaction(async (trx) => {
        await tableInsert.call(this.store, trx, tasks, 'wal-reader');
        await sqlRows(
          trx,
          `insert into ${POSITION_TABLE} (slot, lsn) values ($1, $2::pg_lsn)
           on conflict (slot) do update set lsn = excluded.lsn`,
          [WAL_SLOT, lsn],
        );
      });
      this.#position = lsnValue(lsn);
      this.queued += tasks.length;
      this.batches += 1;
      this.options.onQueued?.(tasks, performance.now());
      await this.#service.acknowledge(lsn);
      this.#busy = false;
    });
    return this.#writing;
  }
}
