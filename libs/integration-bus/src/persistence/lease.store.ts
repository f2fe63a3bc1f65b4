import { Injectable } from '@nestjs/common';
import { BusDatabase } from './bus-database.js';
import type { LeaseScope, LeaseToken } from './lease-scope.js';
import { leaseArguments, leaseColumnsOf, leaseReleaseSql, perLeaseShape } from './queue-rules.js';

export type { LeaseDirection, LeaseScope, LeaseToken } from './lease-scope.js';

/** A lease taken: its fencing epoch and the database's clock when it was taken. */
export interface LeaseGrant {
  granted: true;
  /** Incremented by every claim: a write carrying an older epoch is refused (R-DEL-2). */
  epoch: string;
  /** The database's `clock_timestamp()` at the claim, as ISO 8601. */
  claimedAt: string;
}

/** A lease held by another instance, and how long it lasts unless renewed. */
export interface LeaseRefusal {
  granted: false;
  /** Milliseconds until the holder's lease runs out (0 or less: already out). */
  expiresInMs: number;
}

/** The parameters of a claim, beyond the lease's own. */
type ClaimParameter = 'leaseMs';
const CLAIM = perLeaseShape<ClaimParameter>((scope, param) => {
  const c = leaseColumnsOf(scope);
  const owner = param('owner', 'text');
  return `with claimed as (
         update ${c.table}
            set ${c.owner} = ${owner},
                ${c.until} = clock_timestamp() + make_interval(secs => ${param('leaseMs', 'float8')} / 1000),
                ${c.epoch} = ${c.epoch} + 1
          where ${c.key(param)} and (${c.owner} is null or ${c.owner} = ${owner} or ${c.until} < clock_timestamp())
          returning ${c.epoch}::text as epoch
       )
       select true as granted, epoch, to_json(clock_timestamp()) #>> '{}' as at, 0::float8 as left
         from claimed
       union all
       select false, null, null,
              coalesce(extract(epoch from ${c.until} - clock_timestamp()) * 1000, 0)::float8
         from ${c.table} where ${c.key(param)} and not exists (select 1 from claimed)`;
});

const RENEW = perLeaseShape<'leaseMs'>((scope, param) => {
  const c = leaseColumnsOf(scope);
  return `update ${c.table} set ${c.until} = clock_timestamp() + make_interval(secs => ${param('leaseMs', 'float8')} / 1000)
        where ${c.key(param)} and ${c.owner} = ${param('owner', 'text')} and ${c.epoch} = ${param('epoch', 'bigint')}
        returning 1`;
});

const RELEASE = perLeaseShape<never>((scope, param) => leaseReleaseSql(scope, param));

/** SQL over the processing leases of R-OUT-7 and R-ORD-2. */
@Injectable()
export class LeaseStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Takes the lease if it is free, expired, or already ours, with a new fencing epoch. A crashed
   * instance's lease simply runs out, so no queue stays blocked longer than `leaseMs`; a refusal
   * says when the holder's lease ends, so the caller can try again then.
   */
  async claim(scope: LeaseScope, owner: string, leaseMs: number): Promise<LeaseGrant | LeaseRefusal> {
    const statement = CLAIM(scope);
    const [row] = await this.db.prepared<{ granted: boolean; epoch: string; at: string; left: number }>(
      statement.text,
      statement.values({
        connectorId: scope.connectorId,
        partition: scope.partition,
        owner,
        leaseMs,
        epoch: null,
      }),
    );
    if (row?.granted) return { granted: true, epoch: row.epoch, claimedAt: row.at };
    return { granted: false, expiresInMs: row?.left ?? 0 };
  }

  /** Extends our lease; `false` when another instance took it over (our epoch is gone). */
  async renew(token: LeaseToken, leaseMs: number): Promise<boolean> {
    const statement = RENEW(token);
    const rows = await this.db.prepared(
      statement.text,
      statement.values({ ...leaseArguments(token), leaseMs }),
    );
    return rows.length === 1;
  }

  /** Gives the lease back, if it is still ours at this epoch. */
  async release(token: LeaseToken): Promise<void> {
    const statement = RELEASE(token);
    await this.db.prepared(statement.text, statement.values(leaseArguments(token)));
  }
}
