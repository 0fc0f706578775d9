/**
 * Append-to-handled latency through the whole outbound and inbound path, on every broker
 * (bench/brokers/): an append to PostgreSQL, the `Relay` tailing the log and publishing to the
 * broker (with its durability: confirms, PubAcks, XADD replies, acks=all), and an
 * `EventConsumer` with the PostgreSQL inbox (the handler runs in the inbox's transaction, the
 * ack after its commit); then the same without a store, to show what the inbox costs. Target
 * (issue 14, RabbitMQ): p99 <= 50 ms at 1,000 events/s, with the inbox.
 *
 * The load is open loop: event i is due at start + i / rate and is appended then, whether or
 * not the earlier appends have finished, as independent clients would; a slow path shows as
 * latency instead of slowing the load down. Each event's clock starts just before its append
 * call (hrtime, one process) and stops when the consumer's handler sees it, the first time.
 * Each row also says where the time went: until the append returned, until the relay handed the
 * event to `broker.publish`, until that publish's answers were in.
 *
 * The machine is shared, so a full run is rounds (3 of 10 s by default), each running every
 * broker (in rotating order) with and without the inbox, each on a fresh topic and schema; a
 * row's figure is the median of its rounds' p99, and every round is reported.
 *
 * `FACTUM_LATENCY_RATE`, `FACTUM_LATENCY_SECONDS`, `FACTUM_LATENCY_ROUNDS` and
 * `FACTUM_BENCH_BROKERS` change the full run (the committed results use the defaults). Run alone
 * with `npm run bench:latency [-- --quick]` (a full run writes
 * bench/results/end-to-end-latency.{json,md}), or through `npm run bench`, which calls
 * `runEndToEndLatencyBench`.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sleep } from '../src/core/sleep.js';
import { openPostgresEventStore, type PostgresEventStore } from '../src/store/postgres/postgres-event-store.js';
import type { Broker } from '../src/transport/broker.js';
import { EventConsumer } from '../src/transport/consumer/event-consumer.js';
import { Relay } from '../src/transport/relay/relay.js';
import { SERVER_URL } from './bench-database.js';
import { benchEvent } from './bench-event.js';
import { median, type BenchRow } from './bench-row.js';
import { BENCH_PARTITIONS, type BenchBroker, type OpenedBenchBroker } from './brokers/bench-broker.js';
import { benchBrokers } from './brokers/bench-brokers.js';
import { nowSeconds } from './measure.js';

const TARGET_P99_MS = 50;
const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Events per second, seconds per round, rounds, and whether the storeless consumer runs too; the smoke run is short and lighter. */
const load = (quick: boolean) =>
  quick
    ? { rate: 200, seconds: 1, rounds: 1, modes: [true] }
    : { rate: env('FACTUM_LATENCY_RATE', 1_000), seconds: env('FACTUM_LATENCY_SECONDS', 10), rounds: env('FACTUM_LATENCY_ROUNDS', 3), modes: [true, false] };

/** The value below which `q` of the sorted values lie (nearest rank). */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const STAGES = ['appended', 'read by the relay', 'confirmed'] as const;
type Stage = (typeof STAGES)[number];

/** One round of one broker and mode. */
interface Round {
  p50: number;
  p99: number;
  max: number;
  appendedPerSecond: number;
  handledPerSecond: number;
  /** The bench process's CPU over the round, in percent of one core. */
  cpu: number;
  /** Each event's moments after its start, in ms, per stage. */
  stages: Record<Stage, number[]>;
}

const systemName = (inbox: boolean) => (inbox ? 'factum (EventConsumer + PostgreSQL inbox)' : 'factum (EventConsumer, no store)');

/**
 * Rows of p99 append-to-handled latency in ms (median of the rounds) with p50, max, the achieved
 * rates and where the time went, per broker: the consumer with the PostgreSQL inbox (the
 * target), then (full run) without a store. A broker that cannot be reached gives a row saying so.
 *
 * @example
 * const rows = await runEndToEndLatencyBench({ quick: true })
 */
export async function runEndToEndLatencyBench(options: { quick: boolean }, log: (message: string) => void = console.log): Promise<BenchRow[]> {
  const { rate, seconds, rounds, modes } = load(options.quick);
  const targets = benchBrokers();
  const scenarioOf = (target: BenchBroker) => `end-to-end latency: append → relay → ${target.name} → EventConsumer, ${rate.toLocaleString('en-US')} events/s, ${rounds} × ${seconds} s`;
  const opened = new Map<BenchBroker, OpenedBenchBroker>();
  const skipped = new Map<BenchBroker, string>();
  const results = new Map<string, { rounds: Round[]; failure?: string }>();
  const key = (target: BenchBroker, inbox: boolean) => `${target.name}|${inbox}`;
  try {
    for (const target of targets) {
      try {
        opened.set(target, await target.open());
      } catch (error) {
        skipped.set(target, `skipped: ${target.name} unreachable (${(error as Error).message})`);
        log(skipped.get(target)!);
      }
      for (const inbox of modes) results.set(key(target, inbox), { rounds: [] });
    }
    const live = targets.filter((t) => opened.has(t));
    for (let round = 0; round < rounds; round++) {
      for (let b = 0; b < live.length; b++) {
        const target = live[(b + round) % live.length]!;
        for (const inbox of modes) {
          const entry = results.get(key(target, inbox))!;
          if (entry.failure) continue;
          log(`round ${round + 1} of ${rounds}, ${target.name}, ${systemName(inbox)}: ${rate * seconds} events at ${rate}/s`);
          try {
            entry.rounds.push(await measure(opened.get(target)!, { rate, seconds, inbox }));
          } catch (error) {
            entry.failure = `failed: ${(error as Error).message}`;
            log(`  ${entry.failure}`);
          }
        }
      }
    }
  } finally {
    for (const o of opened.values()) await o.close().catch(() => {});
  }
  return targets.flatMap((target) =>
    modes.map((inbox): BenchRow => {
      const base = { scenario: scenarioOf(target), backend: 'postgres' as const, system: systemName(inbox), unit: 'ms (p99)' };
      const entry = results.get(key(target, inbox))!;
      if (skipped.has(target)) return { ...base, note: skipped.get(target)! };
      if (entry.failure || entry.rounds.length === 0) return { ...base, note: entry.failure ?? 'failed: no round ran' };
      return row(base, entry.rounds, inbox, opened.get(target)!.versions);
    }),
  );
}

function row(base: Omit<BenchRow, 'median'>, rounds: Round[], inbox: boolean, versions: string): BenchRow {
  const round1 = (n: number) => Number(n.toFixed(1));
  const p99s = rounds.map((r) => round1(r.p99));
  const p99 = median(p99s);
  const pooled = (stage: Stage) => rounds.flatMap((r) => r.stages[stage]).sort((a, b) => a - b);
  return {
    ...base,
    median: p99,
    samples: p99s,
    spread: p99s.length > 1 && p99 > 0 ? (Math.max(...p99s) - Math.min(...p99s)) / p99 : 0,
    extra: {
      p50: round1(median(rounds.map((r) => r.p50))),
      p99,
      'p50 rounds': rounds.map((r) => round1(r.p50)).join(', '),
      'p99 rounds': p99s.join(', '),
      max: round1(Math.max(...rounds.map((r) => r.max))),
      'appended events/s': Math.round(median(rounds.map((r) => r.appendedPerSecond))),
      'handled events/s': Math.round(median(rounds.map((r) => r.handledPerSecond))),
      // Appends, relay and consumer share this one Node thread: near 100 % it is the bottleneck.
      'bench process CPU': `${Math.round(median(rounds.map((r) => r.cpu)))} %`,
      ...Object.fromEntries(STAGES.map((stage) => [`${stage} p50/p99`, `${round1(percentile(pooled(stage), 0.5))}/${round1(percentile(pooled(stage), 0.99))} ms`])),
    },
    note: `${inbox && base.scenario.includes('RabbitMQ') ? `target p99 <= ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}; ` : ''}relay and consumer with their defaults, ${BENCH_PARTITIONS} partitions; ${versions}`,
  };
}

/** One round: a fresh schema and topic, the consumer and the relay started and warmed up, then the open-loop load. */
async function measure(opened: OpenedBenchBroker, options: { rate: number; seconds: number; inbox: boolean }): Promise<Round> {
  const { rate, seconds, inbox } = options;
  const total = rate * seconds;
  const suffix = `${process.pid}_${randomUUID().slice(0, 6)}`;
  const schema = `latency_bench_${suffix}`;
  const topic = `factum-latency-bench-${suffix}`;
  const group = 'latency-bench';
  const broker = opened.broker;
  const store: PostgresEventStore = await openPostgresEventStore({ connection: SERVER_URL, schema, maxConnections: 16 });

  const startedAt = new Map<string, number>();
  const latenciesMs: number[] = [];
  const stages: Record<Stage, number[]> = { appended: [], 'read by the relay': [], confirmed: [] };
  const stageOf = (name: Stage, id: string, at = nowSeconds()) => {
    const start = startedAt.get(id);
    if (start !== undefined) stages[name].push((at - start) * 1000);
  };
  // The relay's broker, timed: when a page is handed to publish, and when its answers are in.
  const timedBroker: Broker = Object.assign(Object.create(broker) as Broker, {
    publish: async (...args: Parameters<Broker['publish']>) => {
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
    name: group,
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
    // Warm-up: every part connected (a Kafka group joined) and its statements prepared before the clock runs.
    for (let i = 0; i < 20; i++) {
      const event = benchEvent(`warm-${i}`, 1);
      startedAt.set(event.id, nowSeconds());
      await store.append(`warm-${i}`, [event]);
    }
    const warmDeadline = Date.now() + 60_000;
    while (latenciesMs.length < 20 && Date.now() < warmDeadline) await sleep(5);
    if (latenciesMs.length < 20) throw new Error(`the consumer handled ${latenciesMs.length} of 20 warm-up events within 60 s`);
    latenciesMs.length = 0;
    for (const list of Object.values(stages)) list.length = 0;

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
    for (const list of Object.values(stages)) list.sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1)!,
      appendedPerSecond: total / appendSeconds,
      handledPerSecond: total / (lastHandledAt - t0),
      cpu: ((cpu.user + cpu.system) / 1e6 / (lastHandledAt - t0)) * 100,
      stages,
    };
  } finally {
    await relay.stop().catch(() => {});
    await consumer.stop().catch(() => {});
    await opened.remove(topic, [group]).catch(() => {});
    await store.client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await store.close();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const loadAtStart = os.loadavg()[0]!;
  const started = new Date();
  const rows = await runEndToEndLatencyBench({ quick });
  const { rate, seconds, rounds } = load(quick);
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const section = (scenario: string) => {
    const mine = rows.filter((r) => r.scenario === scenario);
    const measured = mine.filter((r) => r.median !== undefined);
    const extraKeys = [...new Set(measured.flatMap((r) => Object.keys(r.extra ?? {})))].filter((k) => k !== 'p99');
    return [
      `## ${scenario.replace(/^end-to-end latency: /, '')}`,
      '',
      ...(measured.length === 0
        ? [`Not run: ${mine[0]?.note ?? ''}`]
        : [
            `| | ${measured.map((r) => r.system).join(' | ')} |`,
            `| --- | ${measured.map(() => '---:').join(' | ')} |`,
            `| **p99 (median of rounds)** | ${measured.map((r) => `**${r.median} ms**`).join(' | ')} |`,
            ...extraKeys.map((k) => `| ${k} | ${measured.map((r) => `${r.extra?.[k] ?? ''}${['p50', 'max'].includes(k) || k.endsWith('rounds') ? ' ms' : ''}`).join(' | ')} |`),
            '',
            ...mine.map((r) => `- ${r.system}: ${r.note ?? ''}`),
          ]),
      '',
    ];
  };
  const lines = [
    '# End-to-end latency: append → relay → broker → EventConsumer, per broker',
    '',
    `Run of ${started.toISOString()}${quick ? ' (quick)' : ''}, produced by \`npm run bench:latency${quick ? ' -- --quick' : ''}\`; ${os.cpus().length} cores shared with other work, load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end. ${rate.toLocaleString('en-US')} events/s, ${rounds} rounds of ${seconds} s, each round running every broker (rotating order) with and without the inbox, each on a fresh topic and schema; open loop (each event appended when due, each a new stream), PostgreSQL and the brokers on this machine, one process. p99 and p50 are medians of the rounds' figures (every round listed); max is the largest of any round; stages pool every round's events: each event's time from just before its append until its append returned, the relay handed it to \`broker.publish\`, and that publish's answers were in.`,
    '',
    ...scenarios.flatMap(section),
  ];
  console.log(lines.join('\n'));
  if (!quick && rows.some((row) => row.median !== undefined)) {
    await writeFile(path.join(here, 'results', 'end-to-end-latency.md'), `${lines.join('\n')}\n`);
    const json = { date: started.toISOString(), command: 'npm run bench:latency', loadAverage: [loadAtStart, os.loadavg()[0]], rate, seconds, rounds, rows };
    await writeFile(path.join(here, 'results', 'end-to-end-latency.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
