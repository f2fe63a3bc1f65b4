import type { EnabledConnector } from '../connectors/connector-registry.js';
import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { LeaseDirection } from '../persistence/lease-scope.js';
import type { QueuedSynchronization } from '../persistence/queue.store.js';
import type { ResultCounts } from './invoke-connector.js';
import type { GroupClaims } from './partition-group-lease.js';
import type { ProcessingClaim } from './processing-claim.js';

/** An enabled, loaded connector and the id of its row: what a run works for. */
export type ProcessingTarget = EnabledConnector;

/**
 * Why a partition run hands its partition over with work left (R-ORD-3): `share`, this process runs
 * more of the connector's partitions than its share now (another instance joined); `turn`, other
 * partitions of the connector wait here for a slot and take their turn (a backlog in some
 * partitions never starves the others).
 */
export type HandOver = 'share' | 'turn';

/** What a run may ask the scheduler while it drains. */
export interface DrainRun {
  /** Aborted when shutdown stops waiting for the runs under way: they stop waiting for connectors. */
  readonly interrupted: AbortSignal;
  /** Whether the application is stopping: no new batch. */
  stopping(): boolean;
  /** Whether the run's partition should be handed over after this batch, and why. */
  handOverReason(): HandOver | null;
}

/** How a run ended: what it counted, and whether it handed its partition over with work left. */
export interface DrainResult {
  counts: ResultCounts;
  handOver: HandOver | null;
}

/**
 * How a group run ended (see `PartitionGroupDrain`): what it counted, the partitions that may have
 * more queued than it read (each is run by itself next), and those whose lease was gone at the write.
 */
export interface GroupDrainResult {
  counts: ResultCounts;
  more: number[];
  lost: number[];
  /** When the connector must run again by itself (see `Drainer.nextRunInMs`), read by the group's write. */
  nextRunInMs: number | null;
}

/**
 * One direction's work, as the scheduler (`QueueScheduler`) drives it: the scheduler decides when a
 * queue runs and holds its lease; the drainer reads the queue under that claim and writes what its
 * connector answered. The outgoing and incoming processors are the two drainers.
 */
export interface Drainer {
  readonly direction: LeaseDirection;
  /**
   * Whether the scheduler starts runs by itself: on timers (retries coming due, a dead instance's
   * lease running out). Off when the host drives processing by hand.
   */
  readonly automatic: boolean;
  /** Whether the switches let this direction process now. */
  enabled(): Promise<boolean>;
  /** Works through a queue (a connector's, or one partition) under `claim`. */
  drain(target: ProcessingTarget, claim: ProcessingClaim, run: DrainRun): Promise<DrainResult>;
  /** Processes one queued synchronization picked by hand, completing it. */
  processOne(
    target: ProcessingTarget,
    claim: ProcessingClaim,
    row: QueuedSynchronization,
  ): Promise<IntegrationProcessResult>;
  /** The partitions that have work now; `[0]` (the whole queue) for one FIFO. Default `[0]`. */
  partitions?(target: ProcessingTarget): Promise<number[]>;
  /**
   * Of the partitions another instance's commit wrote to (`QueueSignal.partitions`), those to run:
   * `[0]` for a connector with one FIFO here. Default `[0]`.
   */
  writtenPartitions?(target: ProcessingTarget, written: readonly number[]): number[];
  /**
   * Whether the partitions a commit wrote to run as one group run over them all (`drainGroup`)
   * rather than a run each. Default no.
   */
  groupsPartitions?(target: ProcessingTarget): boolean;
  /** Works through the heads of several partitions at once, under a claim each (`PartitionGroupDrain`). */
  drainGroup?(target: ProcessingTarget, group: GroupClaims, run: DrainRun): Promise<GroupDrainResult>;
  /** How many partitions of the connector this process may run at once. Default 1. */
  partitionLimit?(target: ProcessingTarget): number;
  /** When the connector must run again by itself, in milliseconds from now; null: not by itself. */
  nextRunInMs?(connectorId: number): Promise<number | null>;
  /** A partition was handed over for its `share`, its lease released: tell the other instances. */
  handedOver?(connectorId: number): void;
}
