// src/account-api.ts
/** The account service's answer. */
export type AccountApiReply = { ok: true } | { ok: false; error: string };

/**
 * The external account web service. An abstract class is both the type and the DI token: the app
 * binds `HttpAccountApi`, tests bind a fake.
 */
export abstract class AccountApi {
  abstract updateUser(
    acctNumber: number,
    user: { userName: string; email: string },
  ): Promise<AccountApiReply>;
  abstract setEmailPreferences(
    acctNumber: number,
    preferences: { paymentAlerts: boolean; alertAboveBalance: number },
  ): Promise<AccountApiReply>;
}
