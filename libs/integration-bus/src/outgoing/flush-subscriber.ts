import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  MikroORM,
  type EventSubscriber,
  type FlushEventArgs,
  type TransactionEventArgs,
  type UnitOfWork,
} from '@mikro-orm/core';
import type { SqlExecutor } from '../persistence/bus-database.js';
import { ChangeLogger, type AfterCommitWork, type OutgoingChange } from './change-logger.js';

/**
 * Follows MikroORM's unit of work (`UnitOfWork.doCommit()`) and hands its changes to the
 * `ChangeLogger` at the right moments (R-OUT-1, R-OUT-4); the order of the hooks, and nothing else:
 * 1. `onFlush`: change sets are known but new rows have no ids yet; the logger matches subscriptions
 *    and captures deletes (their data is gone afterwards).
 * 2. The rows are written; then, still inside the transaction, the logger inserts the tasks: in
 *    `beforeTransactionCommit` when the flush opened its own transaction, or in `afterFlush` when
 *    the flush ran inside the caller's transaction. A failing insert fails the flush; a rollback
 *    takes the tasks with it.
 * 3. After the commit (`afterTransactionCommit`): what the logger returned to run then
 *    (LogInternalTask.After, synchronous connectors (R-OUT-5), the processors' nudge (R-OUT-8 a)).
 *    A nested `transactional` is a savepoint: its work moves to the enclosing transaction when it is
 *    released, and runs when the outermost one commits (or is dropped if any of them rolls back).
 * We never flush from inside these hooks.
 */
@Injectable()
export class ChangeFlushSubscriber implements EventSubscriber, OnModuleInit {
  readonly #pending = new WeakMap<UnitOfWork, OutgoingChange[]>();
  readonly #afterCommit = new WeakMap<object, AfterCommitWork[]>();
  /** A savepoint's enclosing transaction, and the one an entity manager is opening a savepoint in. */
  readonly #enclosing = new WeakMap<object, object>();
  readonly #opening = new WeakMap<object, object>();

  constructor(
    private readonly orm: MikroORM,
    private readonly changes: ChangeLogger,
  ) {}

  onModuleInit(): void {
    this.orm.em.getEventManager().registerSubscriber(this);
  }

  async onFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const changeSets = [...uow.getChangeSets()];
    if (changeSets.length === 0) return;
    const changes = await this.changes.collect(changeSets, em.getTransactionContext<SqlExecutor>());
    if (changes.length > 0) this.#pending.set(uow, [...(this.#pending.get(uow) ?? []), ...changes]);
  }

  async beforeTransactionCommit({ uow, transaction }: TransactionEventArgs): Promise<void> {
    const changes = uow && this.#pending.get(uow);
    if (!changes || !transaction) return;
    this.#pending.delete(uow);
    this.deferUntilCommit(
      transaction,
      (await this.changes.log(changes, transaction as unknown as SqlExecutor)).afterCommit,
    );
  }

  async afterFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const changes = this.#pending.get(uow);
    if (!changes) return;
    this.#pending.delete(uow);
    const transaction = em.getTransactionContext<object>();
    if (transaction) {
      this.deferUntilCommit(
        transaction,
        (await this.changes.log(changes, transaction as SqlExecutor)).afterCommit,
      );
    } else {
      // implicitTransactions is off: there is no transaction to join, the rows are already saved.
      await (await this.changes.log(changes, undefined)).afterCommit();
    }
  }

  /** A transaction started inside another one is a savepoint: remember what encloses it. */
  beforeTransactionStart({ em, transaction }: TransactionEventArgs): void {
    if (transaction) this.#opening.set(em, transaction);
  }

  afterTransactionStart({ em, transaction }: TransactionEventArgs): void {
    const enclosing = this.#opening.get(em);
    this.#opening.delete(em);
    if (enclosing && transaction && enclosing !== transaction) this.#enclosing.set(transaction, enclosing);
  }

  async afterTransactionCommit({ transaction }: TransactionEventArgs): Promise<void> {
    const work = transaction && this.#afterCommit.get(transaction);
    if (!work) return;
    this.#afterCommit.delete(transaction);
    // A released savepoint commits nothing: its work waits for the enclosing transaction.
    const enclosing = this.#enclosing.get(transaction);
    if (enclosing) {
      for (const step of work) this.deferUntilCommit(enclosing, step);
      return;
    }
    for (const step of work) await step();
  }

  afterTransactionRollback({ transaction }: TransactionEventArgs): void {
    if (transaction) this.#afterCommit.delete(transaction);
  }

  /**
   * Runs `work` when `transaction` commits (the outermost one, when it is a savepoint); forgets it if
   * it rolls back. Also for the tasks `IntegrationBus.logInternalTask` logs in the caller's transaction.
   */
  deferUntilCommit(transaction: object, work: AfterCommitWork): void {
    const list = this.#afterCommit.get(transaction) ?? [];
    list.push(work);
    this.#afterCommit.set(transaction, list);
  }
}
