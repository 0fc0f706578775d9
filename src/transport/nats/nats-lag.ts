import type { ConsumerInfo, JetStreamManager, MsgRequest } from '@nats-io/jetstream';
import type { BrokerLag } from '../broker.js';
import { jetStreamErrorCode, natsError } from './nats-errors.js';
import { natsNames, STREAM_NOT_FOUND } from './nats-topology.js';

/** JetStream's "consumer not found". */
const CONSUMER_NOT_FOUND = 10014;

/**
 * A group's lag on JetStream, from the info of its durable consumer of each partition (a read that
 * creates nothing): `num_pending` (not delivered yet) plus `num_ack_pending` (delivered and not
 * acked, which includes a message naked with a delay until it is redelivered and acked), so
 * `countsInFlight` is true. The oldest is the first message of the partition's subject after the
 * consumer's ack floor, dated by the stream; with acks out of order (a batch handler) it may be
 * one already acked, so the age is an upper bound. Dead letters live in a stream of their own.
 *
 * @example
 * const { messages, oldestSeconds } = await natsLag(jsm, 'orders', 'billing', 4)
 */
export async function natsLag(jsm: JetStreamManager, topic: string, group: string, partitions: number): Promise<BrokerLag> {
  const stream = natsNames.stream(topic);
  let messages = 0;
  let oldestMs = Infinity;
  try {
    for (let partition = 0; partition < partitions; partition++) {
      const info = await consumerInfo(jsm, stream, natsNames.consumer(group, partition));
      const unsettled = info ? info.num_pending + info.num_ack_pending : 0;
      if (!info || unsettled === 0) continue;
      messages += unsettled;
      // The next stored message of this partition's subject from just past the ack floor (STREAM.MSG.GET's next_by_subj).
      const query = { seq: info.ack_floor.stream_seq + 1, next_by_subj: natsNames.subject(topic, partition) } as unknown as MsgRequest;
      const first = await jsm.streams.getMessage(stream, query);
      if (first) oldestMs = Math.min(oldestMs, first.time.getTime());
    }
  } catch (error) {
    throw natsError(error, `reading the lag of ${topic}/${group}`);
  }
  if (messages === 0) return { messages, countsInFlight: true, oldestSeconds: 0 };
  return Number.isFinite(oldestMs) ? { messages, countsInFlight: true, oldestSeconds: Math.max(0, (Date.now() - oldestMs) / 1000) } : { messages, countsInFlight: true };
}

/** The consumer's info, or none when it (or its stream) was never created. */
async function consumerInfo(jsm: JetStreamManager, stream: string, consumer: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, consumer);
  } catch (error) {
    const code = jetStreamErrorCode(error);
    if (code === CONSUMER_NOT_FOUND || code === STREAM_NOT_FOUND) return undefined;
    throw error;
  }
}
