/** Which queue of a connector a processing lease covers: each direction has its own. */
export type LeaseDirection = 'outgoing' | 'incoming';

/**
 * What a lease covers: a connector's queue in one direction, or one partition of an
 * `ordering: 'object'` connector's outgoing queue (R-ORD-2). Partition 0 is the whole queue.
 */
export interface LeaseScope {
  direction: LeaseDirection;
  connectorId: number;
  partition: number;
}

/** The identity a fenced write checks: this scope's lease, held by this owner at this epoch. */
export interface LeaseToken extends LeaseScope {
  owner: string;
  epoch: string;
}
