/**
 * Profiles the outbox relay: PostgreSQL → a broker that confirms at once and keeps nothing, 20,000
 * events (`EVENTS`), so that what remains is the relay's own cost (reading pages, making messages,
 * checkpointing); or to a real broker with `BROKER=rabbitmq|nats|redis|kafka`. Run with
 * `node --cpu-prof --import tsx bench/profile-relay.ts` and open the .cpuprofile; prints events/s
 * and the process's CPU.
 */
import { openPostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import type { Broker } from '../src/transport/broker.js';
import { Relay } from '../src/transport/relay/relay.js';
import { SERVER_URL } from './bench-database.js';
import { benchEvent } from './bench-event.js';
import { benchBrokers } from './brokers/bench-brokers.js';

/** A broker that confirms every message at once and keeps none: the relay's cost without a broker's. */
function confirmingBroker(): Broker {
  return {
    capabilities: { nativeDelayedRetry: false, dedupeByMessageId: false, partitions: 1, maxMessageBytes: 1 << 20 },
    publish: async (_topic, messages) => messages.map((m) => ({ messageId: m.id, status: 'confirmed' as const })),
    consume: async () => ({ stop: async () => {} }),
    deadLetters: () => ({ list: async () => [], retry: async () => {}, skip: async () => {} }),
    close: async () => {},
  };
}

/**
 * One of the benchmark's brokers (`BROKER=rabbitmq`, `nats`, `redis`, `kafka`: a name's first
 * word) with topic `order` prepared for a group nothing consumes; closing it deletes the topic's
 * topology (left behind, every later run would publish to it too, and a growing backlog slows
 * the server down).
 */
async function benchBroker(name: string, run: number): Promise<Broker> {
  const target = benchBrokers().find((b) => b.name.split(' ')[0]!.toLowerCase() === name);
  if (!target) throw new Error(`no bench broker named ${name}`);
  const opened = await target.open();
  const group = `profile-${process.pid}-${run}`;
  await opened.prepare('order', group);
  return Object.assign(Object.create(opened.broker) as Broker, {
    close: async () => {
      await opened.remove('order', [group]);
      await opened.close();
    },
  });
}

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const schema = `profile_relay_${process.pid}`;
const store = await openPostgresEventStore({ connection: SERVER_URL, schema });
try {
  for (let i = 0; i < EVENTS; i += 100) {
    const streamId = `order-${(i / 100) % 1000}`;
    const version = Math.floor(i / 100 / 1000) * 100;
    await store.append(streamId, Array.from({ length: 100 }, (_, k) => benchEvent(streamId, version + k + 1)));
  }
  const head = await store.headPosition();
  for (let run = 0; run < 3; run++) {
    const broker = process.env.BROKER ? await benchBroker(process.env.BROKER, run) : confirmingBroker();
    const relay = new Relay(store, { name: `profile-${run}`, broker });
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    await relay.start();
    await relay.waitFor(head, { timeoutMs: 120_000 });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    await relay.stop();
    await broker.close();
    console.log(`run ${run}: ${EVENTS} events in ${seconds.toFixed(2)} s: ${Math.round(EVENTS / seconds)} events/s, process CPU ${Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100)} %`);
  }
} finally {
  await store.client.query(`DROP SCHEMA "${schema}" CASCADE`);
  await store.close();
}
