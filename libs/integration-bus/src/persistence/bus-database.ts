import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { CompiledQuery, type Kysely, type QueryExecutor, type QueryResult, type Transaction } from 'kysely';
import { Query } from 'pg';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';

/** Anything that runs SQL: the pool, or a transaction (MikroORM's or the bus's own). */
export interface SqlExecutor {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** Runs a parameterised statement (`$1`, `$2`, …) and returns its rows. */
export async function sqlRows<R>(
  db: SqlExecutor,
  text: string,
  params: readonly unknown[] = [],
): Promise<R[]> {
  const result = await db.executeQuery(CompiledQuery.raw(text, [...params]));
  return result.rows as R[];
}

/**
 * A `timestamptz` column as ISO 8601 text. MikroORM's PostgreSQL driver turns off the driver's date
 * parsing, so a plain column comes back in PostgreSQL's own text form (`2026-11-24 20:00:00+00`),
 * which is not ISO 8601; `to_json` writes ISO 8601, which `new Date()` reads everywhere.
 */
export function isoTimestamp(column: string): string {
  return `to_json(${column}) #>> '{}'`;
}

/** The `Date` of a nullable `isoTimestamp` column. */
export function optionalDate(value: string | null): Date | null {
  return value === null ? null : new Date(value);
}

type Client = Kysely<Record<string, never>>;

/** What \`pg.Client.query\` takes for a named prepared statement (a fresh object per call: \`pg\` adds the values to it). */
interface NamedStatement {
  name: string;
  text: string;
  toString(): string;
}

/** The part of `pg`'s connection a COPY uses. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * A `COPY … FROM STDIN` as a `pg` submittable: `pg.Client.query` queues it like a query, calls
 * `submit`, then the handlers of the messages the server answers with. `pg.Client.query` returns it
 * as it is, so Kysely's `await` does not wait for it: `done` does.
 */
class CopyFromStdin {
  rowCount: number | undefined;
  readonly done: Promise<void>;
  #settle!: (error: unknown) => void;

  constructor(
    readonly text: string,
    private readonly body: string,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#settle = (error) => (error ? reject(error) : resolve());
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFromChunk(Buffer.from(this.body, 'utf8'));
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { text?: string }): void {
    const count = /^COPY (\d+)$/.exec(message.text ?? '');
    if (count) this.rowCount = Number(count[1]);
  }

  /** The last call on an error: `pg` forgets the query then, and waits for ReadyForQuery itself. */
  handleError(error: unknown): void {
    this.#settle(error);
  }

  handleReadyForQuery(): void {
    this.#settle(undefined);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

/** The query executor of a Kysely transaction, which runs on the transaction's one connection. */
function kyselyExecutorOf(trx: SqlExecutor): QueryExecutor | undefined {
  const candidate = trx as Partial<Pick<Transaction<Record<string, never>>, 'getExecutor'>>;
  return typeof candidate.getExecutor === 'function' ? candidate.getExecutor() : undefined;
}

/** The part of `pg`'s pool the bus's prepared statements use. */
interface NativePool {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

/** The messages of `pg`'s protocol parser that `DecodedQuery` reads. */
interface RowDescriptionMessage {
  fields: readonly { name: string; format: string }[];
}
interface DataRowMessage {
  fields: readonly (string | null)[];
}

/** Decodes a result's rows from their raw text fields (see `BusDatabase.preparedDecoded`). */
export type RowDecoder<R> = (columns: readonly string[]) => (fields: readonly (string | null)[]) => R;

/**
 * A named prepared statement whose rows are built by a `RowDecoder` from the raw text fields of
 * each DataRow message, instead of `pg`'s generic row objects: `pg.Query` with its row handling
 * replaced (the same `handle…` callbacks `CopyFromStdin` implements), so that preparing, binding
 * and errors stay `pg`'s. Text format only, which is what the bus's statements return.
 */
class DecodedQuery<R> extends Query {
  readonly decoded: R[] = [];
  #decode: ((fields: readonly (string | null)[]) => R) | undefined;
  #failure: unknown;

  constructor(
    config: { name: string; text: string; values: unknown[] },
    private readonly decoder: RowDecoder<R>,
  ) {
    super(config);
  }

  handleRowDescription(message: RowDescriptionMessage): void {
    if (message.fields.some((field) => field.format !== 'text')) {
      this.#failure = new Error('A decoded statement must return its columns as text.');
      return;
    }
    this.#decode = this.decoder(message.fields.map((field) => field.name));
  }

  handleDataRow(message: DataRowMessage): void {
    if (this.#failure !== undefined || !this.#decode) return;
    try {
      this.decoded.push(this.#decode(message.fields));
    } catch (error) {
      this.#failure = error;
    }
  }

  /** A row that could not be decoded fails the statement once the server is done with it. */
  get failure(): unknown {
    return this.#failure;
  }
}

/** Prepared-statement names by statement text: the same text always gets the same name. */
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `integration_bus_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * The bus's access to PostgreSQL: MikroORM's own pool, through its Kysely client, with real bind
 * parameters (MikroORM's `execute` inlines them) and array parameters for batches.
 */
@Injectable()
export class BusDatabase {
  constructor(
    private readonly orm: MikroORM,
    @Inject(RESOLVED_OPTIONS)
    private readonly options: Pick<ResolvedIntegrationBusOptions, 'preparedStatements' | 'leaseMs'>,
  ) {}

  /** The pool, for statements that need no transaction. */
  get pool(): SqlExecutor {
    return this.client();
  }

  /**
   * Runs a statement outside any transaction as a named prepared statement, parsed and planned once
   * per connection instead of on every call: for the statements the drain and the leases run over
   * and over, whose planning took a third of their time (1.3 ms of 3.7 for a batch of 500). Goes to
   * MikroORM's `pg` pool directly, past Kysely, which has no named statements. With
   * `preparedStatements: false`, a plain statement like any other.
   */
  async prepared<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    if (!this.options.preparedStatements) return sqlRows<R>(this.pool, text, params);
    const pool = await this.nativePool();
    const result = await pool.query<R>({ name: statementName(text), text, values: [...params] });
    return result.rows;
  }

  /**
   * `prepared`, with each row built by `decode` from its text fields as it arrives (see
   * `DecodedQuery`): for the drain's reads, whose rows are held for a whole batch. With
   * `preparedStatements: false`, the rows of a plain statement, which have the same properties.
   */
  async preparedDecoded<R>(text: string, params: readonly unknown[], decode: RowDecoder<R>): Promise<R[]> {
    if (!this.options.preparedStatements) return sqlRows<R>(this.pool, text, params);
    const pool = (await this.nativePool()) as unknown as { query(query: Query): Promise<unknown> };
    const query = new DecodedQuery<R>({ name: statementName(text), text, values: [...params] }, decode);
    await pool.query(query);
    if (query.failure !== undefined) throw query.failure;
    return query.decoded;
  }

  /**
   * Runs a statement on the open transaction `trx` as a named prepared statement of its connection,
   * like `prepared` does on the pool: for the statements a change's own transaction runs, where
   * planning cost more than running (the change log's insert of one task: 0.55 ms of 0.8 on
   * PostgreSQL 15 here). Kysely, through which MikroORM hands out its transactions, has no named
   * statements, but its `pg` connection passes a compiled query's text to `pg.Client.query` as it
   * is, and `pg` takes a `{ name, text }` there. With `preparedStatements: false`, or a transaction
   * that is not Kysely's, a plain statement like any other.
   */
  async preparedIn<R>(trx: SqlExecutor, text: string, params: readonly unknown[] = []): Promise<R[]> {
    const executor = this.options.preparedStatements ? kyselyExecutorOf(trx) : undefined;
    if (!executor) return sqlRows<R>(trx, text, params);
    const query = CompiledQuery.raw(text, [...params]);
    const named: NamedStatement = { name: statementName(text), text, toString: () => text };
    const result = await executor.provideConnection((connection) =>
      connection.executeQuery<R>({ ...query, sql: named as unknown as string }),
    );
    return result.rows;
  }

  /** Whether `copyIn` can run on `trx`: a Kysely transaction, whose connection is `pg`'s. */
  supportsCopy(trx: SqlExecutor): boolean {
    return kyselyExecutorOf(trx) !== undefined;
  }

  /**
   * Runs `COPY … FROM STDIN` (text format) on the open transaction `trx`, sending `body` as the data:
   * `pg`'s submittable query interface (`submit` and the `handle…` callbacks `pg-cursor` and
   * `pg-copy-streams` implement), handed to the transaction's connection through Kysely like
   * `preparedIn`. Only where `supportsCopy(trx)`.
   * @returns the number of rows copied
   */
  async copyIn(trx: SqlExecutor, text: string, body: string): Promise<number> {
    const executor = kyselyExecutorOf(trx);
    if (!executor) throw new Error('COPY needs a Kysely transaction (BusDatabase.supportsCopy).');
    const copy = new CopyFromStdin(text, body);
    const query = CompiledQuery.raw(text, []);
    await executor.provideConnection(async (connection) => {
      await connection.executeQuery({ ...query, sql: copy as unknown as string });
      // Still inside the connection's hold: nothing else is sent on it before the COPY has ended.
      await copy.done;
    });
    return copy.rowCount ?? 0;
  }

  /**
   * Runs `work` in a transaction of its own. Its locks (the lease row `for share`, task rows `for
   * update`) must not outlive a process that stops in the middle of it (SIGSTOP, a frozen VM, a
   * partition): PostgreSQL ends the session once it has sat idle in the transaction for half a lease,
   * so the instance that takes the queue over is not kept waiting on those locks beyond the lease.
   * The bus's transactions otherwise last milliseconds.
   */
  transaction<T>(work: (trx: SqlExecutor) => Promise<T>): Promise<T> {
    const idleLimitMs = Math.ceil(this.options.leaseMs / 2);
    return this.client()
      .transaction()
      .execute(async (trx) => {
        await sqlRows(trx, `select set_config('idle_in_transaction_session_timeout', $1, true)`, [
          String(idleLimitMs),
        ]);
        return work(trx);
      });
  }

  /** Connection settings, for the long-lived LISTEN client. */
  get connectionOptions(): {
    clientUrl?: string;
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    dbName?: string;
  } {
    const config = this.orm.config;
    const password = config.get('password');
    return {
      clientUrl: config.get('clientUrl'),
      host: config.get('host'),
      port: config.get('port'),
      user: config.get('user'),
      password: typeof password === 'string' ? password : undefined,
      dbName: config.get('dbName'),
    };
  }

  private nativePool(): Promise<NativePool> {
    const connection = this.orm.em.getConnection() as unknown as { getNativeClient(): Promise<NativePool> };
    return connection.getNativeClient();
  }

  private client(): Client {
    const connection = this.orm.em.getConnection() as unknown as { getClient(): Client };
    return connection.getClient();
  }
}
