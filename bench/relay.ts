/**
 * The outbox relay's throughput, PostgreSQL → RabbitMQ, beside raw amqplib publishing the same
 * messages with the same durability (persistent, to the same durable quorum queues, publisher
 * confirms, batches of the relay's size, at its best simple confirm window) in the same run.
 * Target (issue 14): relay >= 0.8 of raw.
 *
 * The relay's time is everything it does: read the log in pages, make the messages, publish
 * each page and wait for its confirms, commit its checkpoint. Raw gets the messages made from the
 * same events before its clock starts, so it measures the broker alone.
 *
 * Run alone with `npm run bench:relay [-- --quick]` (prints a table, a full run writes
 * bench/results/relay.{json,md}), or through `npm run bench`, which calls `runRelayBench`.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import amqp from 'amqplib';
import type { RecordedEvent } from '../src/core/message.js';
import { openRabbitMqBroker, rabbitMqNames, type RabbitMqBroker } from '../src/rabbitmq.js';
import { openPostgresEventStore, type PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { eventToMessage } from '../src/transport/message-envelope.js';
import { Relay } from '../src/transport/relay/relay.js';
import { SERVER_URL } from './bench-database.js';
import { benchEvent } from './bench-event.js';
import { measuredRow, median, type BenchRow } from './bench-row.js';
import { nowSeconds } from './measure.js';
import { prepareForAmqp, rawRun } from './raw-amqp-publish.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const PARTITIONS = 4;
/** The relay's default page size, and raw's batch. */
const BATCH = 500;
const RAW_WINDOWS = [256, 1024, BATCH] as const;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Sizes {
  events: number;
  rounds: number;
}

const sizes = (quick: boolean): Sizes => (quick ? { events: 2_000, rounds: 1 } : { events: 20_000, rounds: 5 });

/** Appends `count` events, 100 per append, over 1,000 streams; returns them as stored. */
async function fill(store: PostgresEventStore, count: number): Promise<RecordedEvent[]> {
  for (let i = 0; i < count; i += 100) {
    const streamId = `order-${(i / 100) % 1000}`;
    const version = Math.floor(i / 100 / 1000) * 100;
    await store.append(streamId, Array.from({ length: Math.min(100, count - i) }, (_, k) => benchEvent(streamId, version + k + 1)));
  }
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

export async function runRelayBench(options: { quick: boolean }, log: (message: string) => void = console.log): Promise<BenchRow[]> {
  const { events: count, rounds } = sizes(options.quick);
  const scenario = `relay: PostgreSQL → RabbitMQ, ${count.toLocaleString('en-US')} events`;
  const skipped = (note: string): BenchRow[] => [{ scenario, backend: 'postgres', system: 'factum', unit: 'events/s', note }];
  const schema = `relay_bench_${process.pid}`;
  let store: PostgresEventStore;
  let broker: RabbitMqBroker;
  try {
    store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
  } catch (error) {
    return skipped(`skipped: PostgreSQL unreachable (${(error as Error).message})`);
  }
  try {
    broker = await openRabbitMqBroker({ url: AMQP_URL, partitions: PARTITIONS });
  } catch (error) {
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => store.close());
    return skipped(`skipped: RabbitMQ unreachable (${(error as Error).message})`);
  }
  const topic = `factum-relay-bench-${process.pid}`;
  const group = 'bench';
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  try {
    log(`appending ${count} events`);
    const events = await fill(store, count);
    const head = events[events.length - 1]!.globalPosition;
    const prepared: ReturnType<typeof prepareForAmqp>[] = [];
    for (let b = 0; b < events.length; b += BATCH) prepared.push(prepareForAmqp(events.slice(b, b + BATCH).map(eventToMessage), PARTITIONS));
    // The group's quorum queues exist (declared by a consumer that stops at once) and receive every message.
    await (await broker.consume({ topic, group, handler: async () => {} })).stop();
    const purge = async () => {
      for (let p = 0; p < PARTITIONS; p++) await channel.purgeQueue(rabbitMqNames.partitionQueue(topic, group, p));
    };
    let relays = 0;
    const relayRun = async (): Promise<number> => {
      // A new name each run: a fresh checkpoint, so it relays the whole log again.
      const relay = new Relay(store, { name: `bench-${relays++}`, broker, route: () => topic, batchSize: BATCH });
      const start = nowSeconds();
      await relay.start();
      await relay.waitFor(head, { timeoutMs: 300_000 });
      const seconds = nowSeconds() - start;
      if (relay.status().published < count) throw new Error(`the relay published ${relay.status().published} of ${count}`);
      await relay.stop();
      return seconds;
    };
    const systems: Array<{ name: string; run: () => Promise<number> }> = [
      { name: 'factum', run: relayRun },
      ...RAW_WINDOWS.map((window) => ({ name: `raw (window ${window})`, run: () => rawRun(channel, topic, prepared, window) })),
    ];
    const rates = new Map<string, number[]>(systems.map((s) => [s.name, []]));
    for (const system of systems) {
      await system.run();
      await purge();
    }
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1} of ${rounds}`);
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]!;
        const seconds = await system.run();
        rates.get(system.name)!.push(count / seconds);
        await purge();
      }
    }
    const rawNames = systems.slice(1).map((s) => s.name);
    const best = rawNames.reduce((a, b) => (median(rates.get(b)!) > median(rates.get(a)!) ? b : a));
    const base = { scenario, backend: 'postgres' as const, unit: 'events/s' };
    return [
      measuredRow({ ...base, system: 'factum', note: `Relay, pages of ${BATCH}, one publish per page, checkpoint after the confirms; target >= 0.8 of raw` }, rates.get('factum')!),
      measuredRow(
        {
          ...base,
          system: 'raw',
          note: `amqplib, persistent, confirms, batches of ${BATCH}; best simple window: ${best}`,
          extra: Object.fromEntries(rawNames.map((name) => [name, Math.round(median(rates.get(name)!))])),
        },
        rates.get(best)!,
      ),
    ];
  } finally {
    await broker.deleteTopology(topic, [group]).catch(() => {});
    await channel.close().catch(() => {});
    await connection.close().catch(() => {});
    await broker.close();
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await store.close();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const loadAtStart = os.loadavg()[0]!;
  const rows = await runRelayBench({ quick });
  const [factum, raw] = rows;
  const ratio = factum?.median !== undefined && raw?.median ? factum.median / raw.median : undefined;
  const fmt = (row: BenchRow | undefined) => (row?.median === undefined ? row?.note ?? '-' : `${Math.round(row.median)} events/s (rounds ${row.samples!.map(Math.round).join(', ')})`);
  const lines = [
    '# Relay: PostgreSQL → RabbitMQ vs raw amqplib',
    '',
    `Run of ${new Date().toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:relay\`; ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end. ${factum?.scenario ?? ''}, one warm-up per system, then interleaved rounds; median of the rounds.`,
    '',
    `- factum relay: ${fmt(factum)}`,
    `- raw amqplib: ${fmt(raw)}${raw?.note ? ` (${raw.note}; all windows: ${JSON.stringify(raw.extra)})` : ''}`,
    '',
    ratio === undefined ? 'No ratio: a system did not run.' : `relay / raw: **${ratio.toFixed(2)}** (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}).`,
  ];
  console.log(lines.join('\n'));
  if (!quick && ratio !== undefined) {
    await writeFile(path.join(here, 'results', 'relay.md'), `${lines.join('\n')}\n`);
    await writeFile(path.join(here, 'results', 'relay.json'), `${JSON.stringify({ rows, ratio }, null, 2)}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
