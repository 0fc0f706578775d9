/**
 * `npm start`: the shop on the embedded store (./.factum/shop), or on PostgreSQL with
 * FACTUM_DATABASE_URL=postgres://… (or `--postgres` for postgres://postgres@127.0.0.1:5432/test).
 * FACTUM_DATA_DIR moves the embedded files; FACTUM_SHOP_ORDERS and FACTUM_SHOP_SEED change the run.
 * `npm start -- --broker rabbitmq`: the four services as separate processes over RabbitMQ
 * (FACTUM_AMQP_URL, amqp://127.0.0.1 by default), each with its own store under
 * ./.factum/shop-rabbitmq/<service> (or its own schema on PostgreSQL). `--broker kafka` does the
 * same over Kafka (FACTUM_KAFKA_BROKERS, by default the mock cluster scripts/services.sh starts),
 * `--broker nats` over NATS JetStream (FACTUM_NATS_URL, nats://127.0.0.1:4222) and `--broker redis`
 * over Redis Streams (FACTUM_REDIS_URL, redis://127.0.0.1:6379).
 * Exits with 1 when a self-check fails.
 */
import { runShopOnBus, failureLine } from './bus/run-shop-on-bus.js';
import { runShop } from './run-shop.js';
import { isShopBroker, SHOP_BROKERS, shopBrokerUrl } from './bus/shop-brokers.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const args = process.argv.slice(2);
const databaseUrl = process.env.FACTUM_DATABASE_URL || (args.includes('--postgres') ? DEFAULT_POSTGRES_URL : undefined);
const brokerAt = args.indexOf('--broker');
const broker = brokerAt === -1 ? undefined : args[brokerAt + 1];
const orders = Number(process.env.FACTUM_SHOP_ORDERS || 250);
const seed = Number(process.env.FACTUM_SHOP_SEED || 42);
const print = (line = '') => console.log(line);

if (broker === undefined) {
  const result = await runShop({
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: process.env.FACTUM_DATA_DIR || './.factum/shop',
    ...(process.env.FACTUM_SCHEMA ? { schema: process.env.FACTUM_SCHEMA } : {}),
    orders,
    seed,
    print,
  });
  if (result.invariants.some((r) => !r.ok)) process.exitCode = 1;
} else if (!isShopBroker(broker)) {
  console.error(`factum shop: --broker ${broker ?? '(missing)'} is not one the shop runs on; it knows ${Object.keys(SHOP_BROKERS).map((name) => `--broker ${name}`).join(', ')}`);
  process.exitCode = 2;
} else {
  try {
    const result = await runShopOnBus({
      ...(databaseUrl ? { databaseUrl } : {}),
      dataDir: process.env.FACTUM_DATA_DIR || `./.factum/shop-${broker}`,
      ...(process.env.FACTUM_SCHEMA ? { schema: process.env.FACTUM_SCHEMA } : {}),
      broker,
      brokerUrl: shopBrokerUrl(broker),
      orders,
      seed,
      print,
    });
    if (result.invariants.some((r) => !r.ok)) process.exitCode = 1;
  } catch (error) {
    console.error(failureLine(error));
    process.exitCode = 1;
  }
}
