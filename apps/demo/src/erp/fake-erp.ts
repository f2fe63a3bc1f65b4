import { Injectable } from '@nestjs/common';

/** A site or a role as the ERP keeps it: its own id, and the code name the CMS knows it by. */
export interface ErpMasterRecord {
  id: number;
  codeName: string;
}

/** A user in the ERP. `siteId` is an ERP id. */
export interface ErpUser {
  id: number;
  userName: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  siteId: number | null;
}

/** A user's role in the ERP: both ids are ERP ids. */
export interface ErpUserRole {
  userId: number;
  roleId: number;
}

/** A poll in the ERP. `siteId` is an ERP id. */
export interface ErpPoll {
  id: number;
  codeName: string;
  question: string;
  siteId: number | null;
}

/** An answer in the ERP. `pollId` is an ERP id. */
export interface ErpPollAnswer {
  id: number;
  pollId: number;
  codeName: string;
  text: string;
}

/** Everything the ERP holds, each list in id order (`GET /api/erp`). */
export interface ErpContent {
  sites: ErpMasterRecord[];
  roles: ErpMasterRecord[];
  users: ErpUser[];
  userRoles: ErpUserRole[];
  polls: ErpPoll[];
  pollAnswers: ErpPollAnswer[];
}

/** The ERP refused a write: a foreign id that is not one of its own, most likely an untranslated CMS id. */
export class ErpRefusal extends Error {}

/**
 * A fake external ERP, kept in memory for the life of the app: what `ErpConnector` talks to. Like a
 * real one it has ids of its own (a single sequence starting at `FIRST_ID`, so they never look like
 * the CMS's small ids), finds records by the code names both systems share, and refuses a record
 * whose foreign ids it does not know, which is what a CMS id that was not translated would be.
 */
@Injectable()
export class FakeErp {
  /** The ERP's first id. */
  static readonly FIRST_ID = 1000;

  #nextId = FakeErp.FIRST_ID;
  readonly #sites = new Map<string, ErpMasterRecord>();
  readonly #roles = new Map<string, ErpMasterRecord>();
  readonly #users = new Map<string, ErpUser>();
  /** By ERP user id. */
  readonly #userRoles = new Map<number, ErpUserRole[]>();
  readonly #polls = new Map<string, ErpPoll>();
  /** By ERP poll id. */
  readonly #answers = new Map<number, ErpPollAnswer[]>();

  /** The ERP id of the site of that code name, or `null`. */
  siteId(codeName: string): number | null {
    return this.#sites.get(codeName)?.id ?? null;
  }

  /** Registers a site (once: a known code name keeps its id) and returns its ERP id. */
  addSite(codeName: string): number {
    return this.#master(this.#sites, codeName);
  }

  /** The ERP id of the role of that code name, or `null`. */
  roleId(codeName: string): number | null {
    return this.#roles.get(codeName)?.id ?? null;
  }

  /** Registers a role (once: a known code name keeps its id) and returns its ERP id. */
  addRole(codeName: string): number {
    return this.#master(this.#roles, codeName);
  }

  /** The ERP id of the user of that user name, or `null`. */
  userId(userName: string): number | null {
    return this.#users.get(userName)?.id ?? null;
  }

  /** Creates or updates (by user name) a user; returns its ERP id. */
  saveUser(user: Omit<ErpUser, 'id'>): number {
    this.#requireSite(user.siteId, `user '${user.userName}'`);
    const id = this.#users.get(user.userName)?.id ?? this.#newId();
    this.#users.set(user.userName, { id, ...user });
    return id;
  }

  /** Replaces a user's roles. */
  setUserRoles(userId: number, bindings: ErpUserRole[]): void {
    const roleIds = new Set([...this.#roles.values()].map((role) => role.id));
    for (const binding of bindings) {
      if (binding.userId !== userId) {
        throw new ErpRefusal(
          `ERP refused a role binding of user ${userId}: it names user ${binding.userId}.`,
        );
      }
      if (!roleIds.has(binding.roleId)) {
        throw new ErpRefusal(
          `ERP refused a role binding of user ${userId}: ${binding.roleId} is no ERP role.`,
        );
      }
    }
    this.#userRoles.set(userId, bindings);
  }

  /** Deletes a user and its roles; returns the ERP id it had, or `null` if there was none. */
  deleteUser(userName: string): number | null {
    const user = this.#users.get(userName);
    if (!user) return null;
    this.#users.delete(userName);
    this.#userRoles.delete(user.id);
    return user.id;
  }

  /** The ERP id of the poll of that code name, or `null`. */
  pollId(codeName: string): number | null {
    return this.#polls.get(codeName)?.id ?? null;
  }

  /** Creates or updates (by code name) a poll, leaving its answers alone; returns its ERP id. */
  savePoll(poll: Omit<ErpPoll, 'id'>): number {
    this.#requireSite(poll.siteId, `poll '${poll.codeName}'`);
    const id = this.#polls.get(poll.codeName)?.id ?? this.#newId();
    this.#polls.set(poll.codeName, { id, ...poll });
    return id;
  }

  /**
   * Replaces a poll's answers with `answers`: an answer whose code name the poll already has keeps
   * its ERP id. Returns the saved answers, in the order given.
   */
  setPollAnswers(pollId: number, answers: Omit<ErpPollAnswer, 'id'>[]): ErpPollAnswer[] {
    if (![...this.#polls.values()].some((poll) => poll.id === pollId)) {
      throw new ErpRefusal(`ERP refused answers of poll ${pollId}: no such ERP poll.`);
    }
    const existing = new Map((this.#answers.get(pollId) ?? []).map((answer) => [answer.codeName, answer.id]));
    const saved = answers.map((answer) => {
      if (answer.pollId !== pollId) {
        throw new ErpRefusal(
          `ERP refused answer '${answer.codeName}': it names poll ${answer.pollId}, not ${pollId}.`,
        );
      }
      return { id: existing.get(answer.codeName) ?? this.#newId(), ...answer };
    });
    this.#answers.set(pollId, saved);
    return saved;
  }

  /** Deletes a poll and its answers; returns the ERP id it had, or `null` if there was none. */
  deletePoll(codeName: string): number | null {
    const poll = this.#polls.get(codeName);
    if (!poll) return null;
    this.#polls.delete(codeName);
    this.#answers.delete(poll.id);
    return poll.id;
  }

  /** A copy of everything the ERP holds. */
  content(): ErpContent {
    return {
      sites: byId(this.#sites.values()),
      roles: byId(this.#roles.values()),
      users: byId(this.#users.values()),
      userRoles: [...this.#userRoles.values()].flat().map((binding) => ({ ...binding })),
      polls: byId(this.#polls.values()),
      pollAnswers: byId([...this.#answers.values()].flat()),
    };
  }

  #master(records: Map<string, ErpMasterRecord>, codeName: string): number {
    const known = records.get(codeName);
    if (known) return known.id;
    const id = this.#newId();
    records.set(codeName, { id, codeName });
    return id;
  }

  #requireSite(siteId: number | null, what: string): void {
    if (siteId === null) return;
    if (![...this.#sites.values()].some((site) => site.id === siteId)) {
      throw new ErpRefusal(`ERP refused ${what}: ${siteId} is no ERP site.`);
    }
  }

  #newId(): number {
    return this.#nextId++;
  }
}

/** Copies of `items`, in id order. */
function byId<T extends { id: number }>(items: Iterable<T>): T[] {
  return [...items].map((item) => ({ ...item })).toSorted((a, b) => a.id - b.id);
}
