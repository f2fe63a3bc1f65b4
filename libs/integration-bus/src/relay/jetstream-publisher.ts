import { performance } from 'node:perf_hooks';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { NatsClient } from './nats-client.js';

/** A message waiting for its PubAck. */
interface PendingAck {
  resolve(): void;
  reject(error: Error): void;
  /** `performance.now()` past which it is a timeout. */
  deadline: number;
  subject: string;
}

/** What a JetStream stream answers to a publish (a PubAck), or its API error. */
interface PubAckReply {
  stream?: string;
  error?: { code?: number; err_code?: number; description?: string };
}

/**
 * Publishes to JetStream over one connection and settles each publish by its PubAck: what
 * `jetstream.publish` does, with less work per message. A JetStream publish is a core request to the
 * stream's subject; the client's request path costs an Error (stack trace included) per message even
 * without async traces (`RequestError("cancelled")` once the reply is in), a promise and a timer per
 * request, and a copy of the options (profiled: about a fifth of the relay's CPU). Here one inbox
 * subscription takes every reply, a counter names each request, and one timer watches the oldest
 * deadline: all publishes share one timeout, so the pending ones expire in the order they were sent.
 *
 * The messages are those `jetstream.publish` sends: the headers given (with `Nats-Msg-Id` in them)
 * and the body, on the subject, with a reply subject in the connection's inbox prefix.
 */
export class JetStreamPublisher {
  readonly #connection: NatsConnection;
  readonly #timeoutMs: number;
  /** `<inbox>.`: every reply subject is this and a token. */
  readonly #inbox: string;
  /** In the order sent, hence of deadline (one timeout for all). */
  readonly #pending = new Map<string, PendingAck>();
  #next = 0;
  #timer: NodeJS.Timeout | null = null;

  /**
   * @param inboxPrefix the connection's `inboxPrefix`, when it has one (the account may allow
   *   replies only there)
   */
  constructor(client: NatsClient, connection: NatsConnection, timeoutMs: number, inboxPrefix?: string) {
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
    this.#inbox = `${client.core.createInbox(inboxPrefix)}.`;
    const subscription = connection.subscribe(`${this.#inbox}*`, {
      callback: (error, msg) => (error ? this.#failAll(error) : this.#settle(msg)),
    });
    // A closed connection answers nothing more: fail what waits instead of letting it time out.
    void subscription.closed.then(
      () => this.#failAll(new Error('closed connection')),
      (error: unknown) => this.#failAll(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /**
   * Publishes one message; resolves once the stream has stored it (a duplicate by `Nats-Msg-Id`
   * included), rejects on an error reply, no stream on the subject, a closed connection or no reply
   * within the timeout.
   */
  publish(subject: string, body: Uint8Array, headers: MsgHdrs): Promise<void> {
    const token = (this.#next++).toString(36);
    return new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + this.#timeoutMs;
      this.#pending.set(token, { resolve, reject, deadline, subject });
      try {
        this.#connection.publish(subject, body, { reply: this.#inbox + token, headers });
      } catch (error) {
        this.#pending.delete(token);
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.#timer ??= setTimeout(() => this.#expire(), this.#timeoutMs);
    });
  }

  #settle(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length);
    const pending = this.#pending.get(token);
    if (pending === undefined) return; // late: its publish has timed out already
    this.#pending.delete(token);
    const failure = replyError(msg, pending.subject);
    if (failure === null) pending.resolve();
    else pending.reject(failure);
  }

  /** Fails the publishes past their deadline, then waits for the next one's. */
  #expire(): void {
    this.#timer = null;
    const now = performance.now();
    for (const [token, pending] of this.#pending) {
      if (pending.deadline > now) {
        this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(pending.deadline - now)));
        return;
      }
      this.#pending.delete(token);
      pending.reject(new Error('timeout'));
    }
  }

  #failAll(error: Error): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(error);
  }
}

/** Why a reply is not a PubAck, or null when it is one. */
function replyError(msg: Msg, subject: string): Error | null {
  if (msg.data.length === 0) {
    const code = msg.headers?.code ?? 0;
    // 503: nothing listens on the subject, i.e. no stream captures it (or JetStream is off).
    if (code === 503) return new Error(`no responders: no JetStream stream captures '${subject}'`);
    return new Error(`JetStream answered status ${code} ${msg.headers?.description ?? ''}`.trimEnd());
  }
  let reply: PubAckReply;
  try {
    reply = JSON.parse(msg.string()) as PubAckReply;
  } catch {
    return new Error('invalid ack response (not JSON)');
  }
  if (reply.error) return new Error(reply.error.description ?? `JetStream error ${reply.error.err_code}`);
  return reply.stream ? null : new Error('invalid ack response');
}
