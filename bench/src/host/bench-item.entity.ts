import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IntegrationObject } from 'nestjs-integration-bus';

/**
 * The subscribed entity of the live-traffic scenario: a row whose `version` each change raises by
 * one under a row lock, so that an object's versions are its commit order.
 */
@Entity({ tableName: 'bench_item' })
@IntegrationObject({ objectType: 'bench.item', codeName: 'code' })
export class BenchItem {
  @PrimaryKey({ autoincrement: false }) id!: number;
  @Property() code!: string;
  @Property() version!: number;
}

/** The table of `BenchItem` with `objects` rows at version 1, created by hand (logs no task). */
export function benchItemDdl(objects: number): string[] {
  return [
    `create table bench_item (id int primary key, code varchar(255) not null, version int not null)`,
    `insert into bench_item (id, code, version)
     select i, 'item-' || i, 1 from generate_series(1, ${Math.trunc(objects)}) as g(i)`,
  ];
}
