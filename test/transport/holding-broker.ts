/**
 * A broker for the relay's pipelining tests: an in-memory broker whose publish answers can be
 * held back and turned into `unavailable`, call by call, so that a test decides which page of
 * the relay is confirmed first. The messages themselves reach the inner broker at the call, in
 * call order (as on RabbitMQ, where a lost confirm does not mean a lost message).
 */
import type { Broker, BrokerConsumer, BrokerDeadLetters, ConsumeOptions } from '../../src/transport/broker.js';
import { brokerUnavailableError } from '../../src/transport/broker-errors.js';
import type { BrokerMessage, PublishResult } from '../../src/transport/broker-message.js';
import { MemoryBroker } from '../../src/transport/memory/memory-broker.js';

/** How one publish call (numbered from 0, in call order) is answered. */
export interface CallPlan {
  /** The answer waits for this. */
  until?: Promise<unknown>;
  /** Every message of the call is answered `unavailable` (it still reached the broker). */
  unavailable?: boolean;
}

/** One publish call as the broker saw it. */
export interface PublishCall {
  topic: string;
  ids: string[];
  /** Resolves once the call was answered. */
  answered: Promise<void>;
  isAnswered: boolean;
}

export class HoldingBroker implements Broker {
  readonly inner = new MemoryBroker();
  readonly capabilities = this.inner.capabilities;
  readonly calls: PublishCall[] = [];
  readonly plans = new Map<number, CallPlan>();

  publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    const plan = this.plans.get(this.calls.length) ?? {};
    // Enqueued now, in call order.
    const results = this.inner.publish(topic, messages);
    let answered!: () => void;
    const call: PublishCall = { topic, ids: messages.map((m) => m.id), answered: new Promise((resolve) => (answered = resolve)), isAnswered: false };
    this.calls.push(call);
    return (async () => {
      const inner = await results;
      await plan.until;
      call.isAnswered = true;
      answered();
      if (!plan.unavailable) return inner;
      return inner.map((r): PublishResult => ({ messageId: r.messageId, status: 'unavailable', error: brokerUnavailableError('holding', new Error('confirm lost')) }));
    })();
  }

  consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    return this.inner.consume(options);
  }

  deadLetters(topic: string, group: string): BrokerDeadLetters {
    return this.inner.deadLetters(topic, group);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
