import { Injectable } from '@nestjs/common';

/** The answer of the account system. */
export type AccountSystemReply = { ok: true } | { ok: false; error: string };

/** E-mail alert preferences as the account system takes them. */
export interface EmailPreferences {
  receiveBalanceWithin: boolean;
  receiveExceedBalance: boolean;
  exceedBalance: number;
  receivePaymentAlert: boolean;
}

/**
 * Stands in for the external account system of reference 000 (whose web-service calls the author
 * left out). It keeps nothing and answers at once. It refuses e-mail preferences for an account
 * number that cannot exist (0 or less), which is how the demo shows a task that is skipped and
 * stays queued.
 */
@Injectable()
export class AccountSystemClient {
  /** Updates (or creates) the primary user record of an account. */
  updateUser(_acctNumber: number, _userName: string, _email: string): Promise<AccountSystemReply> {
    return Promise.resolve({ ok: true });
  }

  /** Sets the e-mail alert preferences of an account. */
  setEmailPreferences(acctNumber: number, _preferences: EmailPreferences): Promise<AccountSystemReply> {
    return Promise.resolve(
      acctNumber > 0 ? { ok: true } : { ok: false, error: `account ${acctNumber} does not exist` },
    );
  }
}
