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
 * `npm start -- --orchestrated`: checkout orchestrated by a saga instead (checkout/checkout-saga.ts:
 * reserve stock, authorise payment under a durable timeout, ship, capture, each with its
 * compensation), run by the saga runner; the report prints one saga's log. Its store is its own
 * (./.factum/shop-orchestrated, or the schema factum_orchestrated on PostgreSQL): a store keeps
 * to one mode. FACTUM_SHOP_AUTH_TIMEOUT_MS changes the authorisation timeout (2,000 ms). Not with
 * `--broker` (exits 2).
 * Exits with 1 when a self-check fails, with 2 on arguments it cannot run.
 */
import { runShopOnBus, failureLine } from './bus/run-shop-on-bus.js';
import { isDomainError } from '../../src/index.js';
import { runShop } from './run-shop.js';
import { isShopBroker, SHOP_BROKERS, shopBrokerUrl } from './bus/shop-brokers.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const args = process.argv.slice(2);
const databaseUrl = process.env.FACTUM_DATABASE_URL || (args.includes('--postgres') ? DEFAULT_POSTGRES_URL : undefined);
const brokerAt = args.indexOf('--broker');
const broker = brokerAt === -1 ? undefined : args[brokerAt + 1];
const orders = Number(process.env.FACTUM_SHOP_ORDERS || 250);
const seed = Number(process.env.FACTUM_SHOP_SEED || 42);
const orchestrated = args.includes('--orchestrated');
const print = (line = '') => console.log(line);

if (orchestrated && broker !== undefined) {
  console.error(`factum shop: --orchestrated runs in one process on one store; it does not run with --broker ${broker ?? ''}. Run either \`npm start -- --orchestrated\` or \`npm start -- --broker ${broker ?? 'rabbitmq'}\`.`);
  process.exitCode = 2;
} else if (broker === undefined) {
  const schema = process.env.FACTUM_SCHEMA || (orchestrated && databaseUrl ? 'factum_orchestrated' : undefined);
  try {
    const result = await runShop({
      ...(databaseUrl ? { databaseUrl } : {}),
      dataDir: process.env.FACTUM_DATA_DIR || (orchestrated ? './.factum/shop-orchestrated' : './.factum/shop'),
      ...(schema ? { schema } : {}),
      orders,
      seed,
      print,
      ...(orchestrated ? { mode: 'orchestrated' as const, authorisationTimeoutMs: Number(process.env.FACTUM_SHOP_AUTH_TIMEOUT_MS || 2000) } : {}),
    });
    if (result.invariants.some((r) => !r.ok)) process.exitCode = 1;
  } catch (error) {
    if (!isDomainError(error, 'ShopModeMismatch')) throw error;
    console.error(`factum shop: ${(error as Error).message} (give it another FACTUM_DATA_DIR or FACTUM_SCHEMA).`);
    process.exitCode = 2;
  }
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
