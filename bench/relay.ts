/**
 * The outbox relay's throughput, PostgreSQL → each broker (RabbitMQ, NATS JetStream, Redis
 * Streams, Kafka), beside that broker's raw client publishing the same messages with the same
 * durability in the same run (bench/brokers/: one file per broker, with what "the same" means
 * there). Target (issues 14 and 16): relay >= 0.8 of raw, on every broker.
 *
 * The relay's time is everything it does: read the log in pages, make the messages, publish
 * each page and wait for its answers, commit its checkpoint. Raw gets the messages made from the
 * same events, in its client's own form, before its clock starts, so it measures the broker and
 * the client alone; each raw client runs a few simple windows and is compared at its best.
 *
 * The log is filled once; every run relays all of it under a new relay name (a fresh checkpoint)
 * to a topic emptied before the run. One warm-up per system, then rounds: every round runs every
 * broker (in rotating order) and, within it, every system (in rotating order), so that drift of
 * the shared machine hits all alike; medians of the rounds.
 *
 * Run alone with `npm run bench:relay [-- --quick]` (prints the tables; a full run writes
 * bench/results/relay.{json,md}), or through `npm run bench`, which calls `runRelayBench`.
 * `FACTUM_BENCH_BROKERS=rabbitmq,nats` runs some brokers only (for exploring).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RecordedEvent } from '../src/core/message.js';
import { openPostgresEventStore, type PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import type { BrokerMessage } from '../src/transport/broker-message.js';
import { eventToMessage } from '../src/transport/message-envelope.js';
import { Relay } from '../src/transport/relay/relay.js';
import { SERVER_URL } from './bench-database.js';
import { benchEvent } from './bench-event.js';
import { measuredRow, median, type BenchRow } from './bench-row.js';
import type { BenchBroker, OpenedBenchBroker } from './brokers/bench-broker.js';
import { benchBrokers } from './brokers/bench-brokers.js';
import { nowSeconds } from './measure.js';

/** The relay's default page size, and raw's batch. */
const BATCH = 500;
const GROUP = 'bench';
const here = path.dirname(fileURLToPath(import.meta.url));

const sizes = (quick: boolean) => (quick ? { events: 2_000, rounds: 1 } : { events: 20_000, rounds: 5 });

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

interface System {
  name: string;
  /** One timed run from an empty topic; the seconds it took. */
  run(): Promise<number>;
}

/** One broker in the run: its systems and their samples, or why it was skipped. */
interface BrokerRun {
  target: BenchBroker;
  scenario: string;
  opened?: OpenedBenchBroker;
  skipped?: string;
  systems: System[];
  rates: Map<string, number[]>;
}

/** One broker's outcome: the relay's row, the best raw row, every system's rounds, and the ratio. */
export interface RelayBrokerResult {
  broker: string;
  versions?: string;
  rawMethod?: string;
  factum: BenchRow;
  raw?: BenchRow;
  /** events/s of every round, per system (`factum`, `raw (window 256)`, ...). */
  rounds?: Record<string, number[]>;
  ratio?: number;
}

/**
 * Per broker, the relay's throughput and raw's (at its best window), in events/s, median of the
 * rounds; a broker that cannot be reached gives one row saying so.
 *
 * @example
 * const rows = await runRelayBench({ quick: true })
 */
export async function runRelayBench(options: { quick: boolean }, log: (message: string) => void = console.log): Promise<BenchRow[]> {
  return (await relayBench(options, log)).flatMap((r) => (r.raw ? [r.factum, r.raw] : [r.factum]));
}

async function relayBench(options: { quick: boolean }, log: (message: string) => void): Promise<RelayBrokerResult[]> {
  const { events: count, rounds } = sizes(options.quick);
  const targets = benchBrokers({ withMemory: true });
  const scenarioOf = (target: BenchBroker) => `relay: PostgreSQL → ${target.name}, ${count.toLocaleString('en-US')} events`;
  const skippedAll = (note: string): RelayBrokerResult[] =>
    targets.map((target) => ({ broker: target.name, factum: { scenario: scenarioOf(target), backend: 'postgres', system: 'factum', unit: 'events/s', note } }));
  const schema = `relay_bench_${process.pid}`;
  let store: PostgresEventStore;
  try {
    store = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 4 });
  } catch (error) {
    return skippedAll(`skipped: PostgreSQL unreachable (${(error as Error).message})`);
  }
  const topic = `factum-relay-bench-${process.pid}`;
  const runs: BrokerRun[] = [];
  try {
    log(`appending ${count} events`);
    const events = await fill(store, count);
    const head = events[events.length - 1]!.globalPosition;
    const batches: BrokerMessage[][] = [];
    for (let b = 0; b < events.length; b += BATCH) batches.push(events.slice(b, b + BATCH).map(eventToMessage));
    for (const target of targets) {
      const run: BrokerRun = { target, scenario: scenarioOf(target), systems: [], rates: new Map() };
      runs.push(run);
      try {
        run.opened = await target.open();
      } catch (error) {
        run.skipped = `skipped: ${target.name} unreachable (${(error as Error).message})`;
        log(run.skipped);
        continue;
      }
      const opened = run.opened;
      await opened.prepare(topic, GROUP);
      let relays = 0;
      const timed = async (publish: () => Promise<number>): Promise<number> => {
        try {
          return await publish();
        } finally {
          await opened.reset(topic, GROUP);
        }
      };
      const relayRun = async (): Promise<number> => {
        // A new name each run: a fresh checkpoint, so it relays the whole log again.
        const relay = new Relay(store, { name: `bench-${target.name.split(' ')[0]}-${relays++}`, broker: opened.broker, route: () => topic, batchSize: BATCH });
        const start = nowSeconds();
        await relay.start();
        await relay.waitFor(head, { timeoutMs: 300_000 });
        const seconds = nowSeconds() - start;
        const { published } = relay.status();
        await relay.stop();
        if (published < count) throw new Error(`the relay published ${published} of ${count} to ${target.name}`);
        return seconds;
      };
      run.systems.push({ name: 'factum', run: () => timed(relayRun) });
      for (const raw of await opened.rawPublishers(batches, options.quick)) run.systems.push({ name: `raw (${raw.name})`, run: () => timed(() => raw.run(topic)) });
      run.rates = new Map(run.systems.map((s) => [s.name, []]));
      // The smoke run (CI) has no warm-up: its figures mean nothing, and it must stay short with four brokers.
      if (options.quick) continue;
      log(`${target.name}: warm-up of ${run.systems.map((s) => s.name).join(', ')}`);
      for (const system of run.systems) await system.run();
    }
    const live = runs.filter((r) => r.opened);
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1} of ${rounds}`);
      for (let b = 0; b < live.length; b++) {
        const run = live[(b + round) % live.length]!;
        for (let i = 0; i < run.systems.length; i++) {
          const system = run.systems[(i + round) % run.systems.length]!;
          run.rates.get(system.name)!.push(count / (await system.run()));
        }
      }
    }
    return runs.map((run) => result(run, count));
  } finally {
    for (const run of runs) {
      await run.opened?.remove(topic, [GROUP]).catch(() => {});
      await run.opened?.close().catch(() => {});
    }
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await store.close();
  }
}

function result(run: BrokerRun, count: number): RelayBrokerResult {
  const base = { scenario: run.scenario, backend: 'postgres' as const, unit: 'events/s' };
  if (!run.opened) return { broker: run.target.name, factum: { ...base, system: 'factum', note: run.skipped ?? 'skipped' } };
  const rawNames = run.systems.slice(1).map((s) => s.name);
  const rounds = Object.fromEntries([...run.rates].map(([name, samples]) => [name, samples.map(Math.round)]));
  if (rawNames.length === 0) {
    const factum = measuredRow({ ...base, system: 'factum', note: `Relay to no broker: its own ceiling (reading the log, making the messages, checkpointing); ${count} events` }, run.rates.get('factum')!);
    return { broker: run.target.name, versions: run.opened.versions, factum, rounds };
  }
  const best = rawNames.reduce((a, b) => (median(run.rates.get(b)!) > median(run.rates.get(a)!) ? b : a));
  const factum = measuredRow({ ...base, system: 'factum', note: `Relay, pages of ${BATCH}, default pages in flight, checkpoint after the broker's answers; ${count} events; target >= 0.8 of raw` }, run.rates.get('factum')!);
  const raw = measuredRow(
    { ...base, system: 'raw', note: `${run.opened.rawMethod}; best: ${best}`, extra: Object.fromEntries(rawNames.map((name) => [name, Math.round(median(run.rates.get(name)!))])) },
    run.rates.get(best)!,
  );
  return { broker: run.target.name, versions: run.opened.versions, rawMethod: run.opened.rawMethod, factum, raw, rounds, ratio: factum.median! / raw.median! };
}

/**
 * The markdown section of one broker: a table of every system's rounds, and the ratio; with the
 * relay's ceiling (to no broker), also the rate of its own work and raw's one after the other.
 */
function section(r: RelayBrokerResult, ceiling?: number): string[] {
  if (!r.rounds) return [`## ${r.broker}`, '', `Not run: ${r.factum.note}`, ''];
  if (!r.raw) return [`## ${r.broker}`, '', `${r.factum.note}.`, '', `factum relay: ${Math.round(r.factum.median!)} events/s (rounds ${r.rounds.factum!.join(', ')}).`, ''];
  const bestRaw = r.raw.median!;
  return [
    `## ${r.broker}`,
    '',
    `${r.versions}. Raw: ${r.rawMethod}.`,
    '',
    '| System | Median events/s | vs best raw | Rounds |',
    '| --- | ---: | ---: | --- |',
    ...Object.entries(r.rounds).map(([name, samples]) => `| ${name === 'factum' ? 'factum relay' : name} | ${Math.round(median(samples))} | ${(median(samples) / bestRaw).toFixed(2)} | ${samples.join(', ')} |`),
    '',
    `relay / best raw: **${r.ratio!.toFixed(2)}** (target >= 0.80: ${r.ratio! >= 0.8 ? 'met' : 'NOT met'}).`,
    '',
    ...(ceiling ? [sumOfParts(ceiling, bestRaw, r.factum.median!), ''] : []),
  ];
}

/**
 * What the relay would do if its own work (reading the log, making messages, checkpointing: its
 * rate to no broker) and raw's work per message ran one after the other in one process: raw is
 * handed its messages already made, so this, not raw alone, is what one relay process is up against.
 */
function sumOfParts(ceiling: number, raw: number, relay: number): string {
  const serial = 1 / (1 / ceiling + 1 / raw);
  return `The relay's own work (${Math.round(ceiling)} events/s to no broker, below) and raw's one after the other: ${Math.round(serial)} events/s; relay / that: **${(relay / serial).toFixed(2)}**. For 0.8 of raw, the relay's own cost per event would have to be at most a quarter of raw's (${((0.25 * 1e6) / raw).toFixed(1)} µs here; it is ${(1e6 / ceiling).toFixed(1)} µs).`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const loadAtStart = os.loadavg()[0]!;
  const started = new Date();
  const results = await relayBench({ quick }, console.log);
  const { events, rounds } = sizes(quick);
  const lines = [
    '# Relay: PostgreSQL → each broker, beside its raw client',
    '',
    `Run of ${started.toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:relay${quick ? ' -- --quick' : ''}\`; ${os.cpus().length} cores shared with other work, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end. ${events.toLocaleString('en-US')} events (1,000 streams, ~270 bytes of data each) relayed from PostgreSQL per run; ${quick ? 'no warm-up' : 'one warm-up per system'}, then ${rounds} rounds, each running every broker and every system in rotating order; events/s, median of the rounds. Raw gets the same messages in its client's form before its clock starts and is compared at its best window.`,
    '',
    ...results.flatMap((r) => section(r, results.find((other) => other.rounds && !other.raw)?.factum.median)),
  ];
  console.log(lines.join('\n'));
  if (!quick && results.some((r) => r.ratio !== undefined)) {
    await writeFile(path.join(here, 'results', 'relay.md'), `${lines.join('\n')}\n`);
    const json = { date: started.toISOString(), command: 'npm run bench:relay', loadAverage: [loadAtStart, os.loadavg()[0]], events, rounds, batch: BATCH, brokers: results };
    await writeFile(path.join(here, 'results', 'relay.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
