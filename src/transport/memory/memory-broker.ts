import { FactumError } from '../../core/errors.js';
import { partitionOf } from '../../consumers/partition-of.js';
import type { Broker, BrokerCapabilities, BrokerConsumer, BrokerDeadLetter, BrokerDeadLetters, BrokerLag, ConsumeOptions, Delivery } from '../broker.js';
import { brokerClosedError, messageRefusedError } from '../broker-errors.js';
import type { BrokerMessage, PublishResult } from '../broker-message.js';
import { deadLetterReason } from '../dead-letter-reason.js';
import { fitsIn, messageBytes } from '../message-bytes.js';
import { settleBatch, settleOnce } from '../settle-once.js';

/** Options of the in-memory broker; the defaults match the RabbitMQ adapter's. */
export interface MemoryBrokerOptions {
  /** Ordered lanes per topic; 4 by default. */
  partitions?: number;
  /** Largest message (body + headers) accepted; 16 MiB by default. */
  maxMessageBytes?: number;
  /** Deliveries of one message before a retry dead-letters it instead; 20 by default. */
  deliveryLimit?: number;
}

interface Entry {
  message: BrokerMessage;
  attempt: number;
  /** When it was published (or retried from the dead letters), in ms: the age its lag reports. */
  enqueuedAt: number;
}

interface Lane {
  queue: Entry[];
  /** A handler is running, or a retried message waits for its delay: the lane's next message waits too. */
  busy: boolean;
}

interface Member {
  options: ConsumeOptions;
  stopping: boolean;
  inFlight: Set<Promise<void>>;
}

interface Group {
  lanes: Lane[];
  /** Consumers in the order they came; the first one that is not stopping gets every lane (single active consumer). */
  members: Member[];
  deadLetters: BrokerDeadLetter[];
}

const copy = (message: BrokerMessage): BrokerMessage => ({ ...message, headers: { ...message.headers }, body: Uint8Array.from(message.body) });

/**
 * A broker in memory, for tests and for trying factum out: the same contract as the RabbitMQ
 * adapter (per-key order through retries, single active consumer per partition, dead letters with
 * their error, refusal of unroutable and oversized messages), in one process and without a server.
 *
 * @example
 * const broker = new MemoryBroker()
 * await broker.consume({ topic: 'orders', group: 'billing', handler: async (d) => console.log(d.message.id) })
 * await broker.publish('orders', [eventToMessage(event)])
 */
export class MemoryBroker implements Broker {
  readonly capabilities: BrokerCapabilities;
  /** `messaging.system` of its spans. */
  readonly system = 'memory';
  private readonly deliveryLimit: number;
  private readonly topics = new Map<string, Map<string, Group>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.capabilities = {
      nativeDelayedRetry: true,
      dedupeByMessageId: false,
      partitions: options.partitions ?? 4,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    };
    this.deliveryLimit = options.deliveryLimit ?? 20;
  }

  async publish(topic: string, messages: BrokerMessage[]): Promise<PublishResult[]> {
    if (this.closed) throw brokerClosedError('memory');
    const groups = [...(this.topics.get(topic)?.values() ?? [])];
    return messages.map((message): PublishResult => {
      if (!fitsIn(message, this.capabilities.maxMessageBytes)) {
        return { messageId: message.id, status: 'refused', error: messageRefusedError('memory', message.id, 'too_large', `${messageBytes(message)} bytes, the limit is ${this.capabilities.maxMessageBytes}`) };
      }
      if (groups.length === 0) {
        return { messageId: message.id, status: 'refused', error: messageRefusedError('memory', message.id, 'unroutable', `no consumer group is bound to topic "${topic}"`) };
      }
      const partition = partitionOf(message.key, this.capabilities.partitions);
      for (const group of groups) this.enqueue(group, partition, { message: copy(message), attempt: 1, enqueuedAt: Date.now() });
      return { messageId: message.id, status: 'confirmed' };
    });
  }

  async consume(options: ConsumeOptions): Promise<BrokerConsumer> {
    if (this.closed) throw brokerClosedError('memory');
    const group = this.group(options.topic, options.group);
    const member: Member = { options, stopping: false, inFlight: new Set() };
    group.members.push(member);
    this.pumpAll(group);
    return {
      stop: async () => {
        member.stopping = true;
        await Promise.all(member.inFlight);
        group.members.splice(group.members.indexOf(member), 1);
        this.pumpAll(group);
      },
    };
  }

  deadLetters(topic: string, groupName: string): BrokerDeadLetters {
    // Looked up, not created: reading dead letters must not declare a group (and make the topic routable).
    const existing = (): Group | undefined => this.topics.get(topic)?.get(groupName);
    const take = (messageId: string): { group: Group; letter: BrokerDeadLetter } => {
      const group = existing();
      const letters = group?.deadLetters ?? [];
      const index = letters.findIndex((letter) => letter.message.id === messageId);
      if (index === -1) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter ${messageId} in ${topic}/${groupName}`, { details: { topic, group: groupName, messageId } });
      return { group: group!, letter: letters.splice(index, 1)[0]! };
    };
    return {
      list: async () => (existing()?.deadLetters ?? []).map((letter) => ({ ...letter, message: copy(letter.message) })),
      retry: async (messageId) => {
        const { group, letter } = take(messageId);
        this.enqueue(group, partitionOf(letter.message.key, this.capabilities.partitions), { message: letter.message, attempt: 1, enqueuedAt: Date.now() });
      },
      skip: async (messageId) => void take(messageId),
    };
  }

  /**
   * Everything a lane's queue holds is unsettled: waiting, handed to a handler, or waiting out a
   * retry's delay (an entry leaves its queue only when acked or dead-lettered).
   */
  async lag(topic: string, groupName: string): Promise<BrokerLag> {
    if (this.closed) throw brokerClosedError('memory');
    // Looked up, not created, as for dead letters.
    const entries = (this.topics.get(topic)?.get(groupName)?.lanes ?? []).flatMap((lane) => lane.queue);
    if (entries.length === 0) return { messages: 0, countsInFlight: true, oldestSeconds: 0 };
    // A loop, not Math.min(...): a queue of a million entries would overflow the call stack.
    const oldest = entries.reduce((min, entry) => Math.min(min, entry.enqueuedAt), Infinity);
    return { messages: entries.length, countsInFlight: true, oldestSeconds: Math.max(0, (Date.now() - oldest) / 1000) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    const members = [...this.topics.values()].flatMap((groups) => [...groups.values()].flatMap((group) => group.members));
    for (const member of members) member.stopping = true;
    await Promise.all(members.flatMap((member) => [...member.inFlight]));
  }

  private group(topic: string, name: string): Group {
    let groups = this.topics.get(topic);
    if (!groups) this.topics.set(topic, (groups = new Map()));
    let group = groups.get(name);
    if (!group) {
      group = { lanes: Array.from({ length: this.capabilities.partitions }, () => ({ queue: [], busy: false })), members: [], deadLetters: [] };
      groups.set(name, group);
    }
    return group;
  }

  private enqueue(group: Group, partition: number, entry: Entry): void {
    group.lanes[partition]!.queue.push(entry);
    this.pump(group, partition);
  }

  private pumpAll(group: Group): void {
    for (let partition = 0; partition < group.lanes.length; partition++) this.pump(group, partition);
  }

  private pump(group: Group, partition: number): void {
    const lane = group.lanes[partition]!;
    const member = group.members.find((m) => !m.stopping);
    if (this.closed || lane.busy || lane.queue.length === 0 || !member) return;
    lane.busy = true;
    const { batchHandler } = member.options;
    const entries = batchHandler ? lane.queue.slice(0, Math.max(1, member.options.prefetch ?? 16)) : [lane.queue[0]!];
    let holdMs = 0;
    let retried: Entry | undefined;
    const release = (): void => {
      lane.busy = false;
      this.pump(group, partition);
    };
    const deliveryOf = (entry: Entry): Delivery => {
      const remove = (): void => void lane.queue.splice(lane.queue.indexOf(entry), 1);
      const deadLetter = async (error: unknown): Promise<void> => {
        remove();
        group.deadLetters.push({ message: entry.message, ...deadLetterReason(error), attempts: entry.attempt, deadLetteredAt: new Date() });
      };
      return {
        message: copy(entry.message),
        attempt: entry.attempt,
        partition,
        ack: async () => remove(),
        deadLetter,
        retry: async (delayMs, error) => {
          if (entry.attempt >= this.deliveryLimit) return deadLetter(error ?? new Error(`delivery limit of ${this.deliveryLimit} reached`));
          entry.attempt++;
          retried ??= entry;
          // The lane stays busy through the delay: the key's later messages must not overtake this one.
          holdMs = Math.max(holdMs, delayMs);
        },
      };
    };
    const deliveries = entries.map(deliveryOf);
    const handled: Promise<unknown> = batchHandler ? settleBatch(batchHandler, deliveries) : settleOnce(member.options.handler, deliveries[0]!);
    const run: Promise<void> = handled
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        member.inFlight.delete(run);
        // A retried message comes back before the batch's unsettled ones (which stayed in the queue, in order).
        if (retried && lane.queue.includes(retried)) lane.queue.unshift(...lane.queue.splice(lane.queue.indexOf(retried), 1));
        if (holdMs <= 0) return release();
        const timer = setTimeout(() => (this.timers.delete(timer), release()), holdMs);
        this.timers.add(timer);
      });
    member.inFlight.add(run);
  }
}
