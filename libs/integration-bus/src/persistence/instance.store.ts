import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';

/** SQL over `integration_instance`: the live instances that share partitions (R-ORD-3). */
@Injectable()
export class InstanceStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Says this instance is alive for `ttlMs` more, forgets instances gone for a while, and returns
   * how many are alive (this one included).
   */
  async beat(owner: string, ttlMs: number): Promise<number> {
    const [row] = await sqlRows<{ live: number }>(
      this.db.pool,
      `with beat as (
         insert into integration_instance (owner, seen_until)
         values ($1, clock_timestamp() + make_interval(secs => $2::float8 / 1000))
         on conflict (owner) do update set seen_until = excluded.seen_until
       ), forgotten as (
         delete from integration_instance where seen_until < clock_timestamp() - interval '1 hour'
       )
       select 1 + count(*)::int as live from integration_instance
        where owner <> $1 and seen_until > clock_timestamp()`,
      [owner, ttlMs],
    );
    return row?.live ?? 1;
  }

  /** This instance leaves: the others take its share at their next beat. */
  async leave(owner: string): Promise<void> {
    await sqlRows(this.db.pool, `delete from integration_instance where owner = $1`, [owner]);
  }
}
