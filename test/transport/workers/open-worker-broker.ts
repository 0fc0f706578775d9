/**
 * Opens the broker a worker process is told to use, by kind and URL (its command-line arguments),
 * so that one relay worker and one consumer worker serve the runs on every broker. Every kind
 * gets 4 partitions (publishers and consumers must agree) and reconnects quickly after a server
 * restart; a consumer's delivery limit stays well above the redeliveries ten kills can cause.
 */
import type { Broker } from '../../../src/transport/broker.js';

export const WORKER_BROKER_KINDS = ['rabbitmq', 'redis', 'nats'] as const;
export type WorkerBrokerKind = (typeof WORKER_BROKER_KINDS)[number];

/** What the process does with the broker: a consumer gets the higher delivery limit. */
export type WorkerBrokerRole = 'relay' | 'consumer';

/**
 * @example
 * const broker = await openWorkerBroker('redis', 'redis://127.0.0.1:6391', 'consumer')
 */
export async function openWorkerBroker(kind: string, url: string, role: WorkerBrokerRole): Promise<Broker> {
  const consumer = role === 'consumer' ? { deliveryLimit: 50 } : {};
  switch (kind) {
    case 'rabbitmq': {
      const { openRabbitMqBroker } = await import('../../../src/rabbitmq.js');
      // The relay keeps the adapter's own reconnect settings, as the RabbitMQ run always had.
      return openRabbitMqBroker({ url, partitions: 4, ...(role === 'consumer' ? { ...consumer, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } } : {}) });
    }
    case 'redis': {
      const { openRedisBroker } = await import('../../../src/redis.js');
      // A short lease: a standby takes a killed consumer's partitions over within 1.5 s, not 5.
      return openRedisBroker({ url, partitions: 4, leaseMs: 1500, ...consumer });
    }
    case 'nats': {
      const { openNatsBroker } = await import('../../../src/nats.js');
      // A short ack wait: what a killed consumer held goes to the other one after 3 s, not 30
      // (a live handler keeps its message with working() every second).
      return openNatsBroker({ servers: [url], name: `factum-${role}`, partitions: 4, ackWaitMs: 3000, ...consumer });
    }
    default:
      throw new Error(`unknown broker kind ${kind} (one of ${WORKER_BROKER_KINDS.join(', ')})`);
  }
}
