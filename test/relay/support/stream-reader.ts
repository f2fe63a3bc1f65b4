import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { RelayEnvelope } from 'nestjs-integration-bus';

/** A message as stored in the stream. */
export interface StoredRelayMessage {
  seq: number;
  subject: string;
  msgId: string | undefined;
  objectKey: string | undefined;
  /** The `Bus-Sequence` and `Bus-Object-Type` headers. */
  sequenceHeader: string | undefined;
  objectTypeHeader: string | undefined;
  envelope: RelayEnvelope;
}

/** Opens a plain client connection (fails loudly when the server is unreachable). */
export function natsClient(url: string): Promise<NatsConnection> {
  return connect({ servers: url, timeout: 3000, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
}

/** Every message of a stream, in stream order. */
export async function readStream(nc: NatsConnection, stream: string): Promise<StoredRelayMessage[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const messages: StoredRelayMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const stored = await jsm.streams.getMessage(stream, { seq });
    if (!stored) continue;
    messages.push({
      seq,
      subject: stored.subject,
      msgId: stored.header.get('Nats-Msg-Id') || undefined,
      objectKey: stored.header.get('Bus-Object-Key') || undefined,
      sequenceHeader: stored.header.get('Bus-Sequence') || undefined,
      objectTypeHeader: stored.header.get('Bus-Object-Type') || undefined,
      envelope: stored.json<RelayEnvelope>(),
    });
  }
  return messages;
}

/** Deletes a stream if it exists. */
export async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => false);
}
