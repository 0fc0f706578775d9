/**
 * The fault run (issue 14): a producer appends 10,000 events to 100 streams on PostgreSQL while
 * the relay and two competing EventConsumer processes (one group, inbox in PostgreSQL) run as
 * separate processes. The relay and each consumer are SIGKILLed 5 times at seeded random moments
 * and restarted, and RabbitMQ is restarted once. At the end every event's effect exists exactly
 * once and every stream was handled in version order. The effects table has no unique key on the
 * event id (a doubled effect would be counted) and a sequence column that records handling order.
 * Seed: FACTUM_FAULT_SEED (14 by default); the schedule and the counts are printed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openRabbitMqBroker } from '../rabbitmq.js';
import type { PostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { kill, spawnWorker, type Worker } from '../../test/runner-suites/processes.js';
import { ev, eventually, sleep } from '../../test/runner-suites/helpers.js';
import { POSTGRES_URL, postgresUnavailable, serviceUnavailable } from '../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres, uniqueSchema } from '../../test/stores.js';

const run = promisify(execFile);
const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = (await postgresUnavailable()) ?? (await serviceUnavailable('RabbitMQ', 5672));
const SEED = Number(process.env.FACTUM_FAULT_SEED ?? 14);

const STREAMS = 100;
const PER_STREAM = 100;
const EVENTS = STREAMS * PER_STREAM;
/** The producer spreads its appends over this long; the kills and the restart fall inside it. */
const WINDOW_MS = 30_000;
const KILLS_EACH = 5;

/** mulberry32: a small seeded generator, so that a failing schedule can be run again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One kind of process (the relay, a consumer): restarted after each kill, its outputs kept for the counts. */
interface Role {
  name: string;
  /** The word that starts the process's progress lines ("published", "status"). */
  progress: string;
  spawn(): Worker;
  current?: Worker;
  outputs: Worker[];
  kills: number;
  /** Starts that died before ready (a process started while RabbitMQ was down fails fast). */
  failedStarts: number;
}

/** A consumer process's last "status <handled> <duplicates>" line (zeros when none). */
function lastStatus(output: string): [number, number] {
  const last = output.split('\n').filter((line) => line.startsWith('status ')).at(-1);
  const [, handled = 0, duplicates = 0] = last?.split(' ').map(Number) ?? [];
  return [handled, duplicates];
}

/** Messages (ready and unacked) in each of the topic's queues, partitions and dead letters, from rabbitmqctl. */
async function queueDepths(topic: string): Promise<Record<string, number>> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages'], { timeout: 30_000 });
  const rows = stdout.split('\n').map((line) => line.trim().split(/\s+/));
  return Object.fromEntries(rows.filter(([name]) => name?.startsWith(`${topic}.`)).map(([name, n]) => [name, Number(n)]));
}

describe.skipIf(skip)(`the fault run on PostgreSQL + RabbitMQ with real processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stopped = false;
  const roles: Role[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let rabbitRestart: Promise<void> = Promise.resolve();
  afterAll(async () => {
    stopped = true;
    for (const role of roles) if (role.current) await kill(role.current);
    // RabbitMQ is left running whatever happened (restartRabbitMq starts it again in a finally).
    await rabbitRestart.catch(() => {});
    for (const role of roles) if (role.current) await kill(role.current);
    for (const cleanup of cleanups.reverse()) await cleanup();
    await dropSchemas(createdSchemas);
  }, 120_000);

  const log = (line: string) => process.stdout.write(`[fault-run] ${line}\n`);

  /** Starts the role's process and waits for it to be ready, starting it again if it died first. */
  async function start(role: Role): Promise<void> {
    while (!stopped) {
      const worker = role.spawn();
      role.outputs.push(worker);
      role.current = worker;
      try {
        await worker.ready;
        return;
      } catch {
        role.failedStarts++;
        await sleep(250);
      }
    }
  }

  /** SIGKILLs the role's process at each of `times` (ms after `t0`), restarting it after each. */
  async function killAt(role: Role, times: number[], t0: number): Promise<void> {
    for (const at of times) {
      await sleep(Math.max(0, t0 + at - Date.now()));
      if (stopped) return;
      const worker = role.current!;
      await worker.ready.catch(() => {});
      // At the scheduled moment, wait (up to 5 s) for the process to report progress, so that the kill
      // lands while it works (a relay between its confirms and its checkpoint) rather than while it idles.
      const seen = worker.output().length;
      await eventually(() => worker.output().slice(seen).includes(`${role.progress} `), 5_000).catch(() => {});
      await kill(worker);
      role.kills++;
      log(`SIGKILL ${role.name} #${role.kills} at ${Date.now() - t0} ms`);
      await start(role);
    }
  }

  async function restartRabbitMq(at: number, t0: number): Promise<void> {
    await sleep(Math.max(0, t0 + at - Date.now()));
    if (stopped) return;
    log(`rabbitmqctl stop_app at ${Date.now() - t0} ms`);
    try {
      await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    } finally {
      await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
      log(`rabbitmqctl start_app done at ${Date.now() - t0} ms`);
    }
  }

  /** Appends PER_STREAM events to each stream, 10 at a time, in rounds spread over WINDOW_MS. */
  async function produce(store: PostgresEventStore, t0: number): Promise<void> {
    const rounds = PER_STREAM / 10;
    for (let round = 0; round < rounds; round++) {
      for (let s = 0; s < STREAMS; s += 4) {
        await Promise.all([0, 1, 2, 3].map((i) => store.append(`stock-${s + i}`, Array.from({ length: 10 }, (_, n) => ev('Counted', { round, n })))));
      }
      await sleep(Math.max(0, t0 + ((round + 1) * WINDOW_MS) / rounds - Date.now()));
    }
    log(`producer appended ${EVENTS} events at ${Date.now() - t0} ms`);
  }

  it(`${EVENTS} events, relay and two consumers SIGKILLed ${KILLS_EACH} times each, RabbitMQ restarted once: every effect exactly once, every stream in order (seed ${SEED})`, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openTestPostgres({ schema });
    cleanups.push(() => store.close());
    const topic = `fault-run-${randomUUID().slice(0, 8)}`;
    // A tap: a second group in this process, never killed, sees every message the relay published.
    // A first delivery (attempt 1) of an id it has seen before is a relay re-publish.
    const broker = await openRabbitMqBroker({ url: AMQP_URL, partitions: 4, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
    const tapped = new Set<string>();
    const tap = { deliveries: 0, republished: 0, redelivered: 0 };
    const tapConsumer = await broker.consume({
      topic,
      group: 'tap',
      prefetch: 256,
      handler: async (d) => {
        tap.deliveries++;
        if (d.attempt > 1) tap.redelivered++;
        else if (tapped.has(d.message.id)) tap.republished++;
        tapped.add(d.message.id);
      },
    });
    cleanups.push(async () => {
      await tapConsumer.stop();
      await broker.deleteTopology(topic, ['inventory', 'tap']);
      await broker.close();
    });
    const table = `${schema}.effects`;
    // No unique key on event_id: a doubled effect stays in the table and is counted.
    await store.client.query(`CREATE TABLE ${table} (seq bigserial PRIMARY KEY, event_id text NOT NULL, stream_id text NOT NULL, stream_version integer NOT NULL, worker text NOT NULL)`);

    const role = (name: string, progress: string, spawn: () => Worker): Role => {
      const r: Role = { name, progress, spawn, outputs: [], kills: 0, failedStarts: 0 };
      roles.push(r);
      return r;
    };
    const consumers = ['consumer-a', 'consumer-b'].map((name) =>
      role(name, 'status', () => spawnWorker('../../transport/workers/fault-run-consumer-worker.ts', [AMQP_URL, POSTGRES_URL, schema, topic, table, name])),
    );
    const relay = role('relay', 'published', () => spawnWorker('../../transport/workers/relay-worker.ts', [POSTGRES_URL, schema, AMQP_URL, topic, '200', '0']));
    // The consumers first: they declare the group's queues, so nothing the relay publishes is unroutable.
    await Promise.all(consumers.map(start));
    await start(relay);

    const random = seeded(SEED);
    const schedule = (): number[] => Array.from({ length: KILLS_EACH }, () => Math.round(1_000 + random() * (WINDOW_MS - 1_000))).sort((a, b) => a - b);
    const kills = new Map(roles.map((r) => [r, schedule()]));
    const restartAt = Math.round(WINDOW_MS * (0.3 + random() * 0.4));
    log(`seed ${SEED}: ${[...kills].map(([r, times]) => `${r.name} at ${times.join(', ')} ms`).join('; ')}; RabbitMQ restart at ${restartAt} ms`);

    const t0 = Date.now();
    rabbitRestart = restartRabbitMq(restartAt, t0);
    await Promise.all([produce(store, t0), rabbitRestart, ...[...kills].map(([r, times]) => killAt(r, times, t0))]);

    const distinct = async () => Number((await store.client.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${table}`)).rows[0]!.n);
    await eventually(async () => (await distinct()) >= EVENTS && tapped.size >= EVENTS, 120_000, `${EVENTS} distinct effects`);
    log(`all ${EVENTS} effects (and all published) at ${Date.now() - t0} ms`);
    // Then nothing more is published, and the consumers drain what is left (re-publishes, redeliveries),
    // so that a doubled effect arriving late would be counted too.
    stopped = true;
    await kill(relay.current!);
    const partitionsEmpty = async () => Object.entries(await queueDepths(topic)).every(([name, n]) => !/\.\d+$/.test(name) || n === 0);
    await eventually(partitionsEmpty, 60_000, 'the partition queues to drain');
    log(`queues drained at ${Date.now() - t0} ms`);
    for (const r of consumers) await kill(r.current!);
    const depths = await queueDepths(topic);

    const { rows: [totals] } = await store.client.query<{ total: string; distinct: string }>(`SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM ${table}`);
    const logIds = new Set<string>();
    for await (const e of store.readAll()) logIds.add(e.id);
    const effectIds = (await store.client.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM ${table}`)).rows.map((r) => r.event_id);
    const { rows: orders } = await store.client.query<{ stream_id: string; versions: number[] }>(
      `SELECT stream_id, array_agg(stream_version ORDER BY seq) AS versions FROM ${table} GROUP BY stream_id`,
    );
    const outOfOrder = orders.filter((o) => o.versions.some((v, i) => v !== i + 1)).map((o) => o.stream_id);

    const [handled, duplicates] = consumers
      .flatMap((c) => c.outputs)
      .map((w) => lastStatus(w.output()))
      .reduce(([h, d], [wh, wd]) => [h + wh, d + wd], [0, 0]);
    const byWorker = (await store.client.query<{ worker: string; n: string }>(`SELECT worker, count(*) AS n FROM ${table} GROUP BY worker ORDER BY worker`)).rows;
    log(
      JSON.stringify({
        seed: SEED,
        events: EVENTS,
        effects: Number(totals!.total),
        distinctEffects: Number(totals!.distinct),
        kills: Object.fromEntries(roles.map((r) => [r.name, r.kills])),
        processStarts: Object.fromEntries(roles.map((r) => [r.name, r.outputs.length])),
        startsThatDiedBeforeReady: Object.fromEntries(roles.map((r) => [r.name, r.failedStarts])),
        rabbitMqRestarts: 1,
        relayPublished: tap.deliveries - tap.redelivered,
        relayRepublished: tap.republished,
        tapRedeliveredAfterRestart: tap.redelivered,
        // From each consumer process's last status line: lower bounds (a process may die between a change and its print).
        consumerHandledAtLeast: handled,
        duplicatesAbsorbedByInboxAtLeast: duplicates,
        effectsByWorker: Object.fromEntries(byWorker.map((r) => [r.worker, Number(r.n)])),
      }),
    );

    expect(logIds.size).toBe(EVENTS);
    expect([...tapped].filter((id) => !logIds.has(id))).toEqual([]);
    expect(tapped.size).toBe(EVENTS);
    expect(Number(totals!.total)).toBe(EVENTS);
    expect(Number(totals!.distinct)).toBe(EVENTS);
    expect(effectIds.filter((id) => !logIds.has(id))).toEqual([]);
    expect(orders).toHaveLength(STREAMS);
    expect(outOfOrder).toEqual([]);
    // Nothing dead-lettered: every queue of the topic, the dead-letter queues included, is empty.
    expect(Object.keys(depths).length).toBeGreaterThanOrEqual(2 * 4);
    expect(Object.entries(depths).filter(([, n]) => n !== 0)).toEqual([]);
    expect(roles.map((r) => r.kills)).toEqual([KILLS_EACH, KILLS_EACH, KILLS_EACH]);
  }, 230_000);
});
