import { Inject } from '@nestjs/common';
import {
  Connector,
  ExternalObjectError,
  NatsJetStreamRelayConnector,
  Subscribe,
  TaskProcessType,
  TaskType,
} from 'nestjs-integration-bus';
import { User } from '../cms/user.entity.js';
import { DEMO_BROKERS, type DemoBrokers } from './demo-brokers.js';

/** The fake ERP's answer about a user: the e-mail address as the ERP filed it. */
export interface ErpUserReply {
  userName: string;
  email: string | null;
}

/**
 * Both halves of the demo's broker round trip, under one code name. Outgoing: a relay of the demo's
 * users to NATS JetStream (`demo-erp.cms.user.CREATEOBJ`, …), OK once the stream acknowledged.
 * Incoming: the ERP's answers, consumed from RabbitMQ by `ErpRepliesConsumer`, become updates of
 * the users. One code name for both directions is what keeps the answer from being relayed back to
 * the ERP (changes applied from a connector are not logged for it: no echo loop).
 */
@Connector('ErpBroker', { displayName: 'ERP over NATS + RabbitMQ', retry: { maxDelayMs: 30_000 } })
@Subscribe({
  objectType: 'cms.user',
  taskType: TaskType.CreateObject,
  processType: TaskProcessType.AsyncSimple,
})
@Subscribe({
  objectType: 'cms.user',
  taskType: TaskType.UpdateObject,
  processType: TaskProcessType.AsyncSimple,
})
export class ErpBrokerConnector extends NatsJetStreamRelayConnector {
  constructor(@Inject(DEMO_BROKERS) brokers: DemoBrokers) {
    super({
      servers: brokers.natsUrl,
      subjectPrefix: brokers.subjectPrefix,
      stream: { name: brokers.stream },
    });
  }

  /** An `ErpUserReply` as a detached `User` carrying only what the ERP answers for. */
  override prepareInternalObject(obj: unknown): User {
    const reply = obj as Partial<ErpUserReply>;
    if (typeof reply.userName !== 'string' || reply.userName === '') {
      throw new ExternalObjectError('userName', 'is required: the user the answer is about.');
    }
    // No constructor: what the ERP does not answer for (names, site, createdAt) stays as it is.
    const user = Object.create(User.prototype) as User;
    user.userName = reply.userName;
    user.email = reply.email ?? null;
    return user;
  }
}
