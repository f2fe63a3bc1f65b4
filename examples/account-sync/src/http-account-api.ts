// src/http-account-api.ts
import { Injectable } from '@nestjs/common';
import { AccountApi, type AccountApiReply } from './account-api.js';

/** The account service over HTTP, at `ACCOUNT_API_URL`. A 4xx is a refusal; anything else throws. */
@Injectable()
export class HttpAccountApi extends AccountApi {
  private readonly baseUrl = process.env.ACCOUNT_API_URL ?? 'http://localhost:4000';

  updateUser(acctNumber: number, user: { userName: string; email: string }): Promise<AccountApiReply> {
    return this.put(`/accounts/${acctNumber}/user`, user);
  }

  setEmailPreferences(
    acctNumber: number,
    preferences: { paymentAlerts: boolean; alertAboveBalance: number },
  ): Promise<AccountApiReply> {
    return this.put(`/accounts/${acctNumber}/email-preferences`, preferences);
  }

  private async put(path: string, body: object): Promise<AccountApiReply> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.ok) return { ok: true };
    if (response.status >= 400 && response.status < 500) return { ok: false, error: await response.text() };
    throw new Error(`account service answered ${response.status}`);
  }
}
