/**
 * Append-to-handled latency through the whole outbound and inbound path: an append to
 * PostgreSQL, the `Relay` tailing the log and publishing to RabbitMQ (persistent, confirmed),
 * and an `EventConsumer` with the PostgreSQL inbox (the handler runs in the inbox's
 * transaction, the ack after its commit); then the same without a store, to show what the
 * inbox costs. Target (issue 14): p99 <= 50 ms at 1,000 events/s, with the inbox.
 *
 * The load is open loop: event i is due at start + i / rate and is appended then, whether or
 * not the earlier appends have finished, as independent clients would; a slow path shows as
 * latency instead of slowing the load down. Each event's clock starts just before its append
 * call (hrtime, one process) and stops when the consumer's handler sees it, the first time.
 * Each row also says where the time went: until the append returned, until the relay handed the
 * event to `broker.publish`, until that publish's confirms were in.
 *
 * `FACTUM_LATENCY_RATE`, `FACTUM_LATENCY_SECONDS` and `FACTUM_LATENCY_PARTITIONS` change the
 * full run's load and partitions, for exploring (the committed results use the defaults).
 * Run alone with `npm run bench:latency [-- --quick]` (a full run writes
 * bench/results/end-to-end-latency.{json,md}), or through `npm run bench`, which calls
 * `runEndToEndLatencyBench`.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep } from '../src/core/sleep.js';
import { openRabbitMqBroker, type RabbitMqBroker } from '../src/rabbitmq.js';
import { openPostgresEventStore, type PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import { EventConsumer } from '../src/transport/consumer/event-consumer.js';
import { Relay } from '../src/transport/relay/relay.js';
import { SERVER_URL } from './bench-database.js';
import { benchEvent } from './bench-event.js';
import type { BenchRow } from './bench-row.js';
import { nowSeconds } from './measure.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const PARTITIONS = Number(process.env.FACTUM_LATENCY_PARTITIONS ?? 4);
const TARGET_P99_MS = 50;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Events per second and for how long; the smoke run is short and lighter. */
const load = (quick: boolean) => (quick ? { rate: 200, seconds: 3 } : { rate: Number(process.env.FACTUM_LATENCY_RATE ?? 1_000), seconds: Number(process.env.FACTUM_LATENCY_SECONDS ?? 30) });

/** The value below which `q` of the sorted values lie (nearest rank). */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Two rows, p99 of append-to-handled latency in ms with p50, max, the achieved rates and where
 * the time went: the consumer with the PostgreSQL inbox (the target), then without a store (what
 * the inbox's transaction per message costs), each on fresh topics and tables.
 *
 * @example
 * const [withInbox, withoutInbox] = await runEndToEndLatencyBench({ quick: true })
 */
export async function runEndToEndLatencyBench(options: { quick: boolean }, log: (message: string) => void = console.log): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const inbox of [true, false]) {
    const row = await measure(options.quick, inbox, log);
    rows.push(row);
    if (row.median === undefined) break;
  }
  return rows;
}

async function measure(quick: boolean, inbox: boolean, log: (message: string) => void): Promise<BenchRow> {
  const { rate, seconds } = load(quick);
  const total = rate * seconds;
  const scenario = `end-to-end latency: append → relay → RabbitMQ → EventConsumer, ${rate.toLocaleString('en-US')} events/s for ${seconds} s`;
  const base = { scenario, backend: 'postgres' as const, system: inbox ? 'factum (EventConsumer + PostgreSQL inbox)' : 'factum (EventConsumer, no store)', unit: 'ms (p99)' };
  const suffix = `${process.pid}_${randomUUID().slice(0, 6)}`;
  const schema = `latency_bench_${suffix}`;
  const topic = `factum-latency-bench-${suffix}`;
  let store: PostgresEventStore;
  let broker: RabbitMqBroker;
  try {
    store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 16 });
  } catch (error) {
    return { ...base, note: `skipped: PostgreSQL unreachable (${(error as Error).message})` };
  }
  try {
    broker = await openRabbitMqBroker({ url: AMQP_URL, partitions: PARTITIONS });
  } catch (error) {
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => store.close());
    return { ...base, note: `skipped: RabbitMQ unreachable (${(error as Error).message})` };
  }

  const startedAt = new Map<string, number>();
  const latenciesMs: number[] = [];
  // Where the time goes: each event's moments after its start, in ms, per stage.
  const stages = { appended: [] as number[], 'read by the relay': [] as number[], confirmed: [] as number[] };
  const stageOf = (name: keyof typeof stages, id: string, at = nowSeconds()) => {
    const start = startedAt.get(id);
    if (start !== undefined) stages[name].push((at - start) * 1000);
  };
  // The relay's broker, timed: when a page is handed to publish, and when its confirms are in.
  const timedBroker: RabbitMqBroker = Object.assign(Object.create(broker) as RabbitMqBroker, {
    publish: async (...args: Parameters<RabbitMqBroker['publish']>) => {
      const sentAt = nowSeconds();
      const results = await broker.publish(...args);
      const confirmedAt = nowSeconds();
      for (const message of args[1]) {
        stageOf('read by the relay', message.id, sentAt);
        stageOf('confirmed', message.id, confirmedAt);
      }
      return results;
    },
  });
  let lastHandledAt = 0;
  const relay = new Relay(store, { name: `latency-${suffix}`, broker: timedBroker, route: () => topic, from: 'end' });
  const consumer = new EventConsumer({
    name: 'latency-bench',
    broker,
    topic,
    ...(inbox ? { store } : {}),
    handler: (event) => {
      const start = startedAt.get(event.id);
      if (start === undefined) return;
      startedAt.delete(event.id);
      lastHandledAt = nowSeconds();
      latenciesMs.push((lastHandledAt - start) * 1000);
    },
  });
  try {
    await consumer.start();
    await relay.start();
    // Warm-up: every part connected and its statements prepared before the clock runs.
    for (let i = 0; i < 20; i++) {
      const event = benchEvent(`warm-${i}`, 1);
      startedAt.set(event.id, nowSeconds());
      await store.append(`warm-${i}`, [event]);
    }
    while (latenciesMs.length < 20) await sleep(5);
    latenciesMs.length = 0;
    for (const list of Object.values(stages)) list.length = 0;

    log(`${base.system}: appending ${total} events at ${rate}/s`);
    const appends: Array<Promise<unknown>> = [];
    const t0 = nowSeconds();
    const cpuAtStart = process.cpuUsage();
    let next = 0;
    while (next < total) {
      const due = Math.min(total, Math.floor((nowSeconds() - t0) * rate) + 1);
      for (; next < due; next++) {
        const streamId = `order-${next}`;
        const event = benchEvent(streamId, 1);
        startedAt.set(event.id, nowSeconds());
        appends.push(store.append(streamId, [event]).then(() => stageOf('appended', event.id)));
      }
      await sleep(1);
    }
    const appendSeconds = nowSeconds() - t0;
    await Promise.all(appends);
    const deadline = Date.now() + 60_000;
    while (latenciesMs.length < total && Date.now() < deadline) await sleep(10);
    const cpu = process.cpuUsage(cpuAtStart);
    if (latenciesMs.length < total) throw new Error(`the consumer handled ${latenciesMs.length} of ${total} events within 60 s of the last append`);

    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const max = sorted.at(-1)!;
    const round = (n: number) => Number(n.toFixed(1));
    return {
        ...base,
        median: p99,
        samples: [p99],
        extra: {
          p50: round(p50),
          p99: round(p99),
          max: round(max),
          'appended events/s': Math.round(total / appendSeconds),
          'handled events/s': Math.round(total / (lastHandledAt - t0)),
          events: total,
          // Appends, relay and consumer share this one Node thread: near 100 % it is the bottleneck.
          'bench process CPU': `${Math.round(((cpu.user + cpu.system) / 1e6 / (lastHandledAt - t0)) * 100)} %`,
          ...Object.fromEntries(Object.entries(stages).map(([name, values]) => {
            const s = [...values].sort((a, b) => a - b);
            return [`${name} p50/p99`, `${round(percentile(s, 0.5))}/${round(percentile(s, 0.99))} ms`];
          })),
        },
        note: `${inbox ? `target p99 <= ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}; ` : ''}relay and consumer with their defaults, ${PARTITIONS} partitions`,
      };
  } finally {
    await relay.stop().catch(() => {});
    await consumer.stop().catch(() => {});
    await broker.deleteTopology(topic, ['latency-bench']).catch(() => {});
    await broker.close();
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await store.close();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const loadAtStart = os.loadavg()[0]!;
  const rows = await runEndToEndLatencyBench({ quick });
  const section = (row: BenchRow) => [
    `## ${row.system}`,
    '',
    row.median === undefined ? `Not run: ${row.note}` : Object.entries(row.extra ?? {}).map(([k, v]) => `- ${k}: ${v}${['p50', 'p99', 'max'].includes(k) ? ' ms' : ''}`).join('\n'),
    '',
    row.note ?? '',
    '',
  ];
  const lines = [
    '# End-to-end latency: append → relay → RabbitMQ → EventConsumer',
    '',
    `Run of ${new Date().toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:latency\`; ${os.cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end. ${rows[0]!.scenario}; open loop (each event appended when due, each a new stream), PostgreSQL and RabbitMQ on this machine, one process. Stages: each event's time from just before its append until its append returned, the relay handed it to \`broker.publish\`, and that publish's confirms were in.`,
    '',
    ...rows.flatMap(section),
  ];
  console.log(lines.join('\n'));
  if (!quick && rows.every((row) => row.median !== undefined)) {
    await writeFile(path.join(here, 'results', 'end-to-end-latency.md'), lines.join('\n'));
    await writeFile(path.join(here, 'results', 'end-to-end-latency.json'), `${JSON.stringify({ date: new Date().toISOString(), loadAverage: [loadAtStart, os.loadavg()[0]], rows }, null, 2)}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
