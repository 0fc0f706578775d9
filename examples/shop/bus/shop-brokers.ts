/**
 * The brokers the shop runs across processes on (`npm start -- --broker <name>`): how each is
 * named, where it is (an environment variable, or its default on this machine) and how a
 * service opens it. Everything else of the shop is the same on every broker: it only sees the
 * `Broker` port.
 */
import { readFileSync } from 'node:fs';
import type { Broker } from '../../../src/index.js';
import { openKafkaBroker } from '../../../src/kafka.js';
import { openNatsBroker } from '../../../src/nats.js';
import { openRabbitMqBroker } from '../../../src/rabbitmq.js';
import { openRedisBroker } from '../../../src/redis.js';

export interface ShopBroker {
  /** What people call it, in the shop's report and its errors. */
  label: string;
  /** The environment variable that says where it is. */
  env: string;
  /** Where it is when the variable is not set. */
  defaultUrl: () => string;
  open: (url: string) => Promise<Broker>;
}

/** The bootstrap address of librdkafka's mock cluster, which scripts/services.sh writes to a file (the mock picks its own ports); undefined when it is not running here. */
function kafkaMock(): string | undefined {
  try {
    return readFileSync(`${process.env.FACTUM_KAFKA_MOCK_DIR ?? '/tmp/factum-kafka-mock'}/bootstrap`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export const SHOP_BROKERS = {
  rabbitmq: { label: 'RabbitMQ', env: 'FACTUM_AMQP_URL', defaultUrl: () => 'amqp://127.0.0.1', open: (url: string) => openRabbitMqBroker({ url }) },
  kafka: {
    label: 'Kafka',
    env: 'FACTUM_KAFKA_BROKERS',
    defaultUrl: () => kafkaMock() ?? '127.0.0.1:9092',
    open: (url: string) => {
      const mock = kafkaMock();
      // The mock names no controller, which kafkajs's idempotent producer asks for a producer id
      // (README, "Kafka"); and it needs a session longer than its 3 s first-join delay.
      const onMock = mock !== undefined && url.split(',').some((broker) => mock.split(',').includes(broker));
      return openKafkaBroker({ brokers: url.split(','), ...(onMock ? { idempotent: false, sessionTimeoutMs: 6_000 } : {}) });
    },
  },
  // A comma-separated list of servers, like FACTUM_KAFKA_BROKERS.
  nats: { label: 'NATS JetStream', env: 'FACTUM_NATS_URL', defaultUrl: () => 'nats://127.0.0.1:4222', open: (url: string) => openNatsBroker({ servers: url.split(',') }) },
  redis: { label: 'Redis Streams', env: 'FACTUM_REDIS_URL', defaultUrl: () => 'redis://127.0.0.1:6379', open: (url: string) => openRedisBroker({ url }) },
} satisfies Record<string, ShopBroker>;

export type ShopBrokerName = keyof typeof SHOP_BROKERS;

export const isShopBroker = (name: string | undefined): name is ShopBrokerName => name !== undefined && Object.hasOwn(SHOP_BROKERS, name);

/** Where the named broker is: its environment variable, or its default. */
export const shopBrokerUrl = (name: ShopBrokerName): string => process.env[SHOP_BROKERS[name].env] || SHOP_BROKERS[name].defaultUrl();
