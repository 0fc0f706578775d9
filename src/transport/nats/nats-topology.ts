import type { JetStreamManager } from '@nats-io/jetstream';
import { natsError, jetStreamErrorCode } from './nats-errors.js';

/** A name safe as a JetStream stream or consumer name (no `.`, `*`, `>`, spaces or slashes). */
const safe = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * The NATS names factum uses: one stream per topic capturing `<topic>.<partition>`, one durable
 * pull consumer per group and partition, and a dead-letter stream per topic and group.
 *
 * @example
 * natsNames.stream('orders') // 'orders'
 * natsNames.subject('orders', 2) // 'orders.2'
 * natsNames.deadLetterStream('orders', 'billing') // 'orders_dl_billing'
 * natsNames.leaseSubject('orders', 'billing', 2) // 'factum-leases.orders.billing.2'
 */
export const natsNames = {
  stream: (topic: string): string => safe(topic),
  subject: (topic: string, partition: number): string => `${topic}.${partition}`,
  consumer: (group: string, partition: number): string => `${safe(group)}_p${partition}`,
  deadLetterStream: (topic: string, group: string): string => `${safe(topic)}_dl_${safe(group)}`,
  deadLetterSubject: (topic: string, group: string): string => `factum-dead-letters.${safe(topic)}.${safe(group)}`,
  /** The group's partition leases (see `PartitionLeases`): one subject per partition, one message per subject. */
  leaseStream: (topic: string, group: string): string => `${safe(topic)}_leases_${safe(group)}`,
  leaseSubject: (topic: string, group: string, partition: number): string => `factum-leases.${safe(topic)}.${safe(group)}.${partition}`,
  /** A live consumer of the group announces itself here (renewed like a lease), to share the partitions fairly. */
  memberSubject: (topic: string, group: string, member: string): string => `factum-leases.${safe(topic)}.${safe(group)}.members.${member}`,
};

/** JetStream's "stream not found". */
export const STREAM_NOT_FOUND = 10059;

/** How factum's streams are created: the dedupe window and the copies kept. */
export interface StreamSettings {
  duplicateWindowMs: number;
  /** `num_replicas`: JetStream refuses more than the cluster has nodes. */
  replicas: number;
}

/**
 * Creates a stream unless it exists (the same config twice is no error in JetStream). The
 * duplicate window is where `Nats-Msg-Id` dedupe applies: the relay checks it covers its retries.
 * Its consumers get the stream's replicas (their `num_replicas` is left at 0).
 */
export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], settings: StreamSettings): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (error) {
    if (jetStreamErrorCode(error) !== STREAM_NOT_FOUND) throw natsError(error, `looking up stream ${name}`);
  }
  try {
    await jsm.streams.add({ name, subjects, duplicate_window: settings.duplicateWindowMs * 1_000_000, num_replicas: settings.replicas });
  } catch (error) {
    // Another client created it in between.
    if (jetStreamErrorCode(error) === 10058) return;
    throw natsError(error, `creating stream ${name}`);
  }
}

/** Whether a stream exists, asked without creating it. */
export async function streamExists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (error) {
    if (jetStreamErrorCode(error) === STREAM_NOT_FOUND) return false;
    throw natsError(error, `looking up stream ${name}`);
  }
}
