/**
 * One service of the shop in a process of its own (started by bus/service-processes.ts): its own
 * store, a `Relay` that publishes its log to its topic (the log is its outbox), and one
 * `EventConsumer` per topic it reacts to, each message handled in one transaction of its store
 * with the inbox row, the reaction's appends and the count the parent settles on. The IPC
 * channel carries only the parent's requests (the customers' and the clerk's commands, reports,
 * stop); the services hear of each other only through the broker. When the parent goes away (the
 * channel closes) the process stops: no orphans.
 */
import { EventConsumer, InlineProjections, isFactumError, ProjectionRunner, Relay, snapshotStoreFor, sqlAccess, streamCategory, type Broker, type EventStore } from '../../../src/index.js';
import { startRun } from '../run-log.js';
import { reactionHandler, REACTION_RETRY_POLICY } from '../service.js';
import { openShopStore, type ShopStore } from '../store/open-shop-store.js';
import { localCommands, type ShopCommands } from '../workload.js';
import { consumedCategories, LOCAL_READ_MODELS, OWN_CATEGORY, serviceDefinition, topicOf, type ConsumerReport, type ServiceMessage, type ServiceProcessConfig, type ServiceReport, type ServiceRequest } from './bus-config.js';
import { SHOP_BROKERS } from './shop-brokers.js';

const config = JSON.parse(process.argv[2]!) as ServiceProcessConfig;
const send = (message: ServiceMessage): Promise<void> =>
  new Promise((resolve) => (process.send ? process.send(message, undefined, {}, () => resolve()) : resolve()));

/** Counts each consumer's messages in the handler's transaction: the inbox makes it exactly once. */
const RECEIVED = 'shop_bus_received';

class ServiceProcess {
  private readonly consumers: EventConsumer[] = [];
  private readonly runners: ProjectionRunner[] = [];
  private inline?: InlineProjections;
  private relay?: Relay;
  private events = 0;
  private counted = 0n;
  private failures = 0;
  private readonly commands: ShopCommands;
  private readonly table: string;

  constructor(
    private readonly opened: ShopStore,
    private readonly broker: Broker,
  ) {
    this.commands = localCommands(opened.store);
    this.table = `${sqlAccess(opened.store)!.names.s}${RECEIVED}`;
  }

  get store(): EventStore {
    return this.opened.store;
  }

  /** Read models and consumers; the relay waits for `start-relay`, once every group's queues exist. */
  async start(): Promise<void> {
    await sqlAccess(this.store)!.client.query(`CREATE TABLE IF NOT EXISTS ${this.table} (consumer text PRIMARY KEY, messages bigint NOT NULL)`);
    const models = LOCAL_READ_MODELS[config.service];
    const inline = models.filter((m) => m.inline).map((m) => m.projection);
    if (inline.length > 0) this.inline = await new InlineProjections(this.store, inline).start();
    for (const { projection } of models.filter((m) => !m.inline)) {
      this.runners.push(await new ProjectionRunner(this.store, projection, { batchSize: 100, pollIntervalMs: 250, onError: () => void this.failures++ }).start());
    }
    const service = serviceDefinition(config.service);
    const snapshots = snapshotStoreFor(this.store);
    const react = reactionHandler(service, { snapshots, onError: () => void this.failures++ });
    for (const category of consumedCategories(service)) {
      const name = `${config.service}<-${category}`;
      const consumer = new EventConsumer({
        name,
        group: config.service,
        broker: this.broker,
        topic: topicOf(config.topicPrefix, category),
        store: this.store,
        retry: REACTION_RETRY_POLICY,
        onError: () => void this.failures++,
        handler: async (event, context) => {
          await react(event, context);
          await context.sql!.query(`INSERT INTO ${this.table} AS r (consumer, messages) VALUES ($1, 1) ON CONFLICT (consumer) DO UPDATE SET messages = r.messages + 1`, [name]);
        },
      });
      this.consumers.push(await consumer.start());
    }
  }

  async startRelay(): Promise<void> {
    const own = OWN_CATEGORY[config.service];
    this.relay = await new Relay(this.store, {
      name: config.service,
      broker: this.broker,
      filter: { categories: [own] },
      route: (event) => topicOf(config.topicPrefix, streamCategory(event.streamId) as typeof own),
      batchSize: 200,
      pollIntervalMs: 250,
      onError: () => void this.failures++,
    }).start();
  }

  async report(): Promise<ServiceReport> {
    const head = await this.store.headPosition();
    // Counted as the log grows, from the last event counted (`$all` is gap-safe: an append still
    // open is counted once it commits, never skipped).
    for await (const event of this.store.readAll({ after: this.counted, categories: [OWN_CATEGORY[config.service]] })) {
      this.events++;
      this.counted = event.globalPosition;
    }
    const { rows } = await sqlAccess(this.store)!.client.query<{ consumer: string; messages: string | number }>(`SELECT consumer, messages FROM ${this.table}`);
    const received = new Map(rows.map((r) => [r.consumer, Number(r.messages)]));
    const relay = this.relay?.status();
    return {
      service: config.service,
      pid: process.pid,
      head,
      events: this.events,
      relay: { position: relay?.position ?? 0n, published: relay?.published ?? 0, state: relay?.state ?? 'not started' },
      consumers: this.consumers.map((c): ConsumerReport => {
        const s = c.status();
        return { name: c.name, category: c.topic.slice(config.topicPrefix.length + 1) as ConsumerReport['category'], received: received.get(c.name) ?? 0, handled: s.handled, duplicates: s.duplicates, retried: s.retried, deadLettered: s.deadLettered };
      }),
      readModels: this.runners.map((r) => {
        const s = r.status();
        return { name: s.name, position: s.position, state: s.state };
      }),
      failures: this.failures,
    };
  }

  async run(request: ServiceRequest): Promise<unknown> {
    switch (request.op) {
      case 'start-relay':
        return this.startRelay();
      case 'start-run':
        return startRun(this.store, request.seed, request.orders);
      case 'command': {
        const command = this.commands[request.name as keyof ShopCommands] as (...args: unknown[]) => Promise<unknown>;
        return command(...request.args);
      }
      case 'report':
        return this.report();
      case 'stop':
        throw new Error('stop is handled by the process');
    }
  }

  /** Consumers first (their handlers in flight commit and ack), then the relay, then the rest. */
  async stop(): Promise<void> {
    for (const consumer of this.consumers.splice(0)) await consumer.stop();
    await this.relay?.stop();
    for (const runner of this.runners.splice(0)) await runner.stop();
    await this.inline?.stop();
    await this.broker.close();
    await this.opened.close();
  }
}

async function main(): Promise<void> {
  const opened = await openShopStore(config.store);
  let broker: Broker;
  try {
    broker = await SHOP_BROKERS[config.broker].open(config.brokerUrl);
  } catch (error) {
    await opened.close();
    throw error;
  }
  const service = new ServiceProcess(opened, broker);
  await service.start();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= service.stop().catch(() => {}));
  // The parent is gone (exited, killed): stop rather than run on as an orphan.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().finally(() => process.exit(0)));
  // Ctrl-C reaches the whole process group: the parent stops the services (or, if it dies, the channel closes).
  process.on('SIGINT', () => undefined);
  process.on('message', (request: ServiceRequest) => {
    if (request.op === 'stop') {
      void stop()
        .then(() => send({ kind: 'reply', id: request.id, ok: true, value: undefined }))
        .finally(() => process.exit(0));
      return;
    }
    service.run(request).then(
      (value) => void send({ kind: 'reply', id: request.id, ok: true, value }),
      (error: unknown) => void send({ kind: 'reply', id: request.id, ok: false, error: error instanceof Error ? error.message : String(error), ...(isFactumError(error) ? { code: error.code } : {}) }),
    );
  });
  await send({ kind: 'ready' });
}

main().catch(async (error: unknown) => {
  await send({ kind: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
