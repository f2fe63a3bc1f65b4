import { AccountApi, type AccountApiReply } from '../src/account-api.js';

/** The account service, in memory: records calls, refuses chosen accounts, can be down. */
export class FakeAccountApi extends AccountApi {
  readonly calls: { acctNumber: number; kind: 'user' | 'emailPreferences'; body: object }[] = [];
  readonly refused = new Set<number>();
  down = false;

  updateUser(acctNumber: number, user: { userName: string; email: string }): Promise<AccountApiReply> {
    return this.answer(acctNumber, 'user', user);
  }

  setEmailPreferences(
    acctNumber: number,
    preferences: { paymentAlerts: boolean; alertAboveBalance: number },
  ): Promise<AccountApiReply> {
    return this.answer(acctNumber, 'emailPreferences', preferences);
  }

  private async answer(
    acctNumber: number,
    kind: 'user' | 'emailPreferences',
    body: object,
  ): Promise<AccountApiReply> {
    if (this.down) throw new Error('connect ECONNREFUSED account service');
    this.calls.push({ acctNumber, kind, body });
    return this.refused.has(acctNumber) ? { ok: false, error: `no account ${acctNumber}` } : { ok: true };
  }
}
