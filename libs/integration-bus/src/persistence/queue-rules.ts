import type { LeaseScope, LeaseToken } from './lease-scope.js';
import { SqlStatement, type PlaceParameter } from './sql-statement.js';

/**
 * The queue's rules, each written once. The drain, the lists, the counts, the metrics, the health
 * report, the partitions view and the bulk actions import them instead of restating them, so what
 * is delivered and what is shown cannot disagree.
 *
 * - An object's key (R-DEL-1) and its partition (R-ORD-2): `objectKeySql`, `partitionOfSql`.
 * - Held back (R-OUT-6, R-ORD-1): an Error (`failed`) holds the later tasks of its connector, or with
 *   `ordering: 'object'` of its object only: `firstFailedSql`, `heldBackSql`, `blockedBySql`, and in
 *   TypeScript `holdScope`. Parked and the other states hold nothing.
 * - Due (R-DEL-5, R-DEL-6): waiting, or unsuccessful and its `next_attempt_at` come; never parked:
 *   `dueSql`; and the connector not paused (R-EXT-2): `notPausedSql`.
 * - Blocked since (the health report, the Overview, and what retention keeps, R-OPS-1):
 *   `failingSinceEntrySql`.
 * - Fenced (R-DEL-2): a write of a run's outcome holds only while the run's lease is still the one
 *   in the database: `leaseHeldSql`, `leaseReleaseSql`.
 */

/**
 * The object key of R-DEL-1 in SQL, from a task's columns: object type and primary key, or the
 * document node, or (for tasks without either) the title. The partitions hash it, and the advisory
 * locks of `ChangeLogStore.insert` (`lockObjects`) take it.
 */
export function objectKeySql(objectType: string, objectId: string, nodeId: string, title: string): string {
  return `(${objectType} || ':' || coalesce(${objectId}, ${nodeId}, ${title}))`;
}

/** The same key in TypeScript, from a queued row's columns (see `nextBatch`). */
export function objectKeyOf(row: {
  objectType: string;
  objectId: string | null;
  nodeId: string | null;
  title: string;
}): string {
  return `${row.objectType}:${row.objectId ?? row.nodeId ?? row.title}`;
}

/** The partition (1..`partitions`) of an object hash, in SQL. */
export function partitionOfSql(hash: string, partitions: string): string {
  return `(1 + ((${hash} & 9223372036854775807) % ${partitions}))::smallint`;
}

/**
 * SQL: whether synchronization `alias` holds back what follows it (R-OUT-6): its last attempt
 * answered Error. Parked, retrying (ErrorAndSkip) and skipped (SkipNow) ones hold nothing.
 */
export function holdsSql(alias: string): string {
  return `${alias}.state = 'failed'`;
}

/** The largest task id: what "nothing fails before it" compares with. */
const NO_FAILURE = '9223372036854775807';

/**
 * SQL: the first failed synchronization's task id of `connector` (with `objectHash`, of that object
 * only), before task `before` when given; null when none. `except`: an SQL array of synchronization
 * ids to leave out (those the same statement is writing). Read from the partial state index.
 */
export function firstFailedSql(where: {
  connector: string;
  objectHash?: string;
  before?: string;
  except?: string;
}): string {
  const conditions = [`b.connector_id = ${where.connector}`, holdsSql('b')];
  if (where.objectHash !== undefined) conditions.push(`b.object_hash = ${where.objectHash}`);
  if (where.before !== undefined) conditions.push(`b.task_id < ${where.before}`);
  if (where.except !== undefined) conditions.push(`b.id <> all(${where.except})`);
  return `(select min(b.task_id) from integration_synchronization b where ${conditions.join(' and ')})`;
}

/**
 * SQL: whether task `taskId` is held back behind a failed synchronization (R-OUT-6, R-ORD-1): with
 * one FIFO (`partition` 0), by the connector's first failed task before it; in a partition, by a
 * failed task of its own object before it. The one-FIFO form compares with the connector's first
 * failure, a sub-select PostgreSQL evaluates once per statement, not once per row.
 */
export function heldBackSql(q: {
  connector: string;
  partition: string;
  taskId: string;
  objectHash: string;
  except?: string;
}): string {
  const { connector, partition, taskId, objectHash, except } = q;
  return `case when ${partition} = 0
         then ${taskId} > coalesce(${firstFailedSql({ connector, except })}, ${NO_FAILURE})
         else ${firstFailedSql({ connector, objectHash, before: taskId, except })} is not null
    end`;
}

/**
 * SQL: the failed task that waiting synchronization `s` of task `t` waits behind, or null (what the
 * lists show as `blockedBy`): the same rule as `heldBackSql`, read from the synchronization's own
 * columns. Only waiting outgoing synchronizations are held; one with a state is shown by its state.
 */
export const BLOCKED_BY_SQL = `case when t.is_inbound or s.state is not null then null
        when s.object_hash is not null
        then ${firstFailedSql({ connector: 's.connector_id', objectHash: 's.object_hash', before: 's.task_id' })}
        else ${firstFailedSql({ connector: 's.connector_id', before: 's.task_id' })} end`;

/**
 * SQL: the sync-log entry (its `column`) that dates when failed synchronization `sync`'s current run
 * of failures began, what "blocked since" is read from: its `failures`-th newest entry. Once
 * retention (R-OPS-1) has pruned the older entries of a long run, the oldest entry left, which
 * retention keeps for this reason. Null when the synchronization has no entry.
 */
export function failingSinceEntrySql(sync: string, column: 'id' | 'time'): string {
  const entries = `from integration_sync_log x where x.synchronization_id = ${sync}.id`;
  return `coalesce((select x.${column} ${entries} order by x.id desc offset greatest(${sync}.failures, 1) - 1 limit 1),
                   (select x.${column} ${entries} order by x.id limit 1))`;
}

/**
 * SQL: the one status of synchronization `s` of task `t` (R-DEL-7), as the lists, the counts, the
 * overview and the metrics show it. Outgoing synchronizations store theirs (`state`, null while
 * waiting); an incoming one's follows from its task's process type (R-IN-3): the Error process type
 * is `failed`, an attempt that did not succeed otherwise (SkipOnError, a Default task retried) is
 * `retrying`.
 */
export const STATUS_SQL = `case when not t.is_inbound then coalesce(s.state, 'waiting')
        when t.process_type = 'ERROR' then 'failed'
        when s.error_message is not null then 'retrying'
        else 'waiting' end`;

/**
 * SQL: whether synchronization `s` may be attempted now, as of `asOf` (R-DEL-5, R-DEL-6): waiting,
 * or unsuccessful and due; never parked. What fails during a run is not retried within it, since
 * `asOf` is the run's start.
 */
export function dueSql(asOf: string): string {
  return `(s.state is null
             or (s.state <> 'parked' and coalesce(s.next_attempt_at, '-infinity') <= ${asOf}))`;
}

/**
 * SQL: whether connector `connector` may be called now (R-EXT-2): not paused by an answer with
 * `pauseConnector` (`FlowControlStore.pause`), on any instance. It does not depend on the rows:
 * PostgreSQL evaluates it once per statement and, while the connector is paused, reads nothing.
 */
export function notPausedSql(connector: string): string {
  return `not exists (select 1 from integration_flow_control f
                       where f.connector_id = ${connector} and f.paused_until > now())`;
}

/**
 * SQL: when connector `connector` must run again by itself, in milliseconds from now (0 or less: due
 * now), or null when nothing is scheduled: the end of a pause (R-EXT-2), else its earliest retry
 * (R-DEL-5). Read from the partial state index.
 */
export function nextRunDueSql(connector: string): string {
  return `(extract(epoch from coalesce(
                 (select paused_until from integration_flow_control
                   where connector_id = ${connector} and paused_until > clock_timestamp()),
                 (select min(next_attempt_at) from integration_synchronization
                   where connector_id = ${connector} and state in ('failed', 'retrying', 'skipped'))
               ) - clock_timestamp()) * 1000)::float8`;
}

/**
 * SQL: whether synchronization `s` is backing off (R-EXT-2): its last attempt failed (Error, which
 * holds what follows it, or ErrorAndSkip) and its retry is still ahead. What a recovery probe
 * watches for and, when the external system is back, makes due. Parked and skipped ones are not
 * failures of the system: left alone. Read from the partial state index.
 */
export function backingOffSql(connector: string): string {
  return `s.connector_id = ${connector} and s.state in ('failed', 'retrying') and s.next_attempt_at > clock_timestamp()`;
}

/**
 * What an Error holds back, as a key (R-OUT-6, R-ORD-1): the whole connector with one FIFO, its
 * object only when its synchronization carries an object hash (`ordering: 'object'`). The drain
 * and the bulk synchronize skip what a held key covers.
 */
export function holdScope(connectorId: number, objectHash: string | null): string {
  return objectHash === null ? `${connectorId}` : `${connectorId}/${objectHash}`;
}

/**
 * Where a scope's lease is kept. A connector's queue leases live on its row (one set of columns per
 * direction); partition leases have a row each in `integration_partition_lease`, created when the
 * connector's partitions are laid out.
 */
interface LeaseColumns {
  table: string;
  key: (param: PlaceParameter<LeaseParameter>) => string;
  owner: string;
  until: string;
  epoch: string;
}

/** The parameters every lease statement takes. */
export type LeaseParameter = 'connectorId' | 'partition' | 'owner' | 'epoch';

const connectorRow = (param: PlaceParameter<LeaseParameter>): string =>
  `id = ${param('connectorId', 'int')} and ${param('partition', 'smallint')} = 0`;

const QUEUE_LEASES: Record<LeaseScope['direction'], LeaseColumns> = {
  outgoing: {
    table: 'integration_connector',
    key: connectorRow,
    owner: 'lease_owner',
    until: 'lease_until',
    epoch: 'lease_epoch',
  },
  incoming: {
    table: 'integration_connector',
    key: connectorRow,
    owner: 'incoming_lease_owner',
    until: 'incoming_lease_until',
    epoch: 'incoming_lease_epoch',
  },
};

const PARTITION_LEASES: LeaseColumns = {
  table: 'integration_partition_lease',
  key: (param) =>
    `connector_id = ${param('connectorId', 'int')} and partition = ${param('partition', 'smallint')}`,
  owner: 'owner',
  until: 'lease_until',
  epoch: 'epoch',
};

/** The lease columns of a scope: a queue's (partition 0) or a partition's. */
export function leaseColumnsOf(scope: LeaseScope): LeaseColumns {
  return scope.partition === 0 ? QUEUE_LEASES[scope.direction] : PARTITION_LEASES;
}

/**
 * The fence (R-DEL-2): a select that returns a row only while the run's lease is still the one in
 * the database (same owner, same epoch), for the statements that write a run's outcome. The lease
 * row is locked `for share`, so a concurrent claim waits for the writing statement's transaction
 * instead of slipping between the check and the write.
 */
export function leaseHeldSql(scope: LeaseScope, param: PlaceParameter<LeaseParameter>): string {
  const c = leaseColumnsOf(scope);
  return `select 1 from ${c.table} where ${c.key(param)} and ${c.owner} = ${param('owner', 'text')}
             and ${c.epoch} = ${param('epoch', 'bigint')} for share`;
}

/** The statement that gives the lease back while the run still holds it (the fence's parameters). */
export function leaseReleaseSql(scope: LeaseScope, param: PlaceParameter<LeaseParameter>): string {
  const c = leaseColumnsOf(scope);
  return `update ${c.table} set ${c.owner} = null, ${c.until} = null
      where ${c.key(param)} and ${c.owner} = ${param('owner', 'text')} and ${c.epoch} = ${param('epoch', 'bigint')}`;
}

/**
 * Builds a statement that carries the fence once per lease shape (a queue's lease on the connector
 * row, per direction, or a partition's row): the text differs by table and columns, never by value.
 */
export function perLeaseShape<N extends string>(
  build: (scope: LeaseScope, param: PlaceParameter<N | LeaseParameter>) => string,
): (scope: LeaseScope) => SqlStatement<N | LeaseParameter> {
  const statements = new Map<string, SqlStatement<N | LeaseParameter>>();
  return (scope) => {
    const shape = `${scope.direction}/${scope.partition === 0 ? 'queue' : 'partition'}`;
    let statement = statements.get(shape);
    if (!statement) {
      statement = new SqlStatement((param) => build(scope, param));
      statements.set(shape, statement);
    }
    return statement;
  };
}

/** The fence's arguments (see `leaseHeldSql`): the token's scope, owner and epoch. */
export function leaseArguments(token: LeaseToken): Record<LeaseParameter, unknown> {
  return {
    connectorId: token.connectorId,
    partition: token.partition,
    owner: token.owner,
    epoch: token.epoch,
  };
}
