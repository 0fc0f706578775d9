/**
 * The fault run (issues 14 and 16), one body for every broker: a producer appends 10,000 events to
 * 100 streams on PostgreSQL while the relay and two competing EventConsumer processes (one group,
 * inbox in PostgreSQL) run as separate processes. The relay and each consumer are SIGKILLed 5
 * times at seeded random moments and restarted, and the broker's server is restarted once. At the
 * end every event's effect exists exactly once and every stream was handled in version order. The
 * effects table has no unique key on the event id (a doubled effect would be counted) and a
 * sequence column that records handling order. What differs per broker is a `FaultRunTarget`: how
 * workers open it, how its server is restarted, how its leftovers are counted, what is cleaned up.
 * Seed: FACTUM_FAULT_SEED (14 by default); the schedule and the counts are printed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/transport/broker.js';
import type { PostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { MESSAGE_HEADERS } from '../../src/transport/message-envelope.js';
import { kill, spawnWorker, type Worker } from '../runner-suites/processes.js';
import { ev, eventually, sleep } from '../runner-suites/helpers.js';
import { POSTGRES_URL, postgresUnavailable } from '../services.js';
import { createdSchemas, dropSchemas, openTestPostgres, uniqueSchema } from '../stores.js';
import type { WorkerBrokerKind } from './workers/open-worker-broker.js';

/** The consumer group of the EventConsumer processes, and the test's own tap group. */
export const FAULT_RUN_GROUPS = ['inventory', 'tap'];
/** Partitions of every broker in the run (workers/open-worker-broker.ts uses the same). */
export const FAULT_RUN_PARTITIONS = 4;

/** Messages left in a topic's places, by name: the groups' partitions, and their dead letters. */
export interface FaultRunDepths {
  /** Ready, waiting or held unacked, per group and partition. */
  partitions: Record<string, number>;
  deadLetters: Record<string, number>;
}

/** What the fault run needs to know of one broker. */
export interface FaultRunTarget {
  /** Names the run: `RabbitMQ`, `Redis Streams`, `NATS JetStream`. */
  name: string;
  /** What the workers are told to open (workers/open-worker-broker.ts). */
  kind: WorkerBrokerKind;
  url: string;
  /** Why the run cannot happen here (beyond PostgreSQL), or undefined. */
  unavailable(): Promise<string | undefined>;
  /** Before anything else: starts the broker's server where the test runs one of its own. */
  setUp(): Promise<void>;
  /** The test process's own broker (the tap), reconnecting quickly after the restart. */
  openBroker(): Promise<Broker>;
  /** The consumer processes' prefetch; the broker's default when absent. */
  consumerPrefetch?: number;
  /** Restarts the broker's server, logging its steps; leaves it running whatever happened. */
  restart(log: (step: string) => void): Promise<void>;
  depths(topic: string): Promise<FaultRunDepths>;
  /** Removes the topic from a server that outlives the test (with the tap's broker, still open). */
  removeTopic(broker: Broker, topic: string): Promise<void>;
  /** Last: stops and removes the server the test started, if any. */
  tearDown(): Promise<void>;
}

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
  /** Starts that died before ready (a process started while the broker was down fails fast). */
  failedStarts: number;
}

/** A consumer process's last "status <handled> <duplicates>" line (zeros when none). */
function lastStatus(output: string): [number, number] {
  const last = output.split('\n').filter((line) => line.startsWith('status ')).at(-1);
  const [, handled = 0, duplicates = 0] = last?.split(' ').map(Number) ?? [];
  return [handled, duplicates];
}

/**
 * Declares the fault run on one broker (skipped with the reason when PostgreSQL or the broker's
 * server cannot run here).
 *
 * @example
 * await describeFaultRun({ name: 'Redis Streams', kind: 'redis', url, ... })
 */
export async function describeFaultRun(target: FaultRunTarget): Promise<void> {
  const skip = (await postgresUnavailable()) ?? (await target.unavailable());
  describe.skipIf(skip)(`the fault run on PostgreSQL + ${target.name} with real processes${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let stopped = false;
    const roles: Role[] = [];
    const cleanups: Array<() => Promise<void>> = [];
    let serverRestart: Promise<void> = Promise.resolve();
    afterAll(async () => {
      stopped = true;
      for (const role of roles) if (role.current) await kill(role.current);
      // The server is left running whatever happened (each target's restart starts it again in a finally).
      await serverRestart.catch(() => {});
      for (const role of roles) if (role.current) await kill(role.current);
      for (const cleanup of cleanups.reverse()) await cleanup();
      await dropSchemas(createdSchemas);
      await target.tearDown();
    }, 120_000);

    const log = (line: string) => process.stdout.write(`[fault-run ${target.kind}] ${line}\n`);

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

    async function restartServer(at: number, t0: number): Promise<void> {
      await sleep(Math.max(0, t0 + at - Date.now()));
      if (stopped) return;
      await target.restart((step) => log(`${step} at ${Date.now() - t0} ms`));
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

    it(`${EVENTS} events, relay and two consumers SIGKILLed ${KILLS_EACH} times each, ${target.name} restarted once: every effect exactly once, every stream in order (seed ${SEED})`, async () => {
      await target.setUp();
      const schema = uniqueSchema();
      createdSchemas.push(schema);
      const store = await openTestPostgres({ schema });
      cleanups.push(() => store.close());
      const topic = `fault-run-${randomUUID().slice(0, 8)}`;
      // A tap: a second group in this process, never killed, sees every message the relay published.
      // A first delivery (attempt 1) of an id it has seen before is a relay re-publish.
      const broker = await target.openBroker();
      const tapped = new Set<string>();
      const tap = { deliveries: 0, republished: 0, redelivered: 0 };
      /** Per stream, the versions in the order the tap first saw them: the order the broker holds them in. */
      const tapOrder = new Map<string, number[]>();
      const tapConsumer = await broker.consume({
        topic,
        group: 'tap',
        prefetch: 256,
        handler: async (d) => {
          tap.deliveries++;
          if (d.attempt > 1) tap.redelivered++;
          else if (tapped.has(d.message.id)) tap.republished++;
          if (tapped.has(d.message.id)) return;
          tapped.add(d.message.id);
          const streamId = d.message.headers[MESSAGE_HEADERS.streamId] ?? d.message.key;
          const seen = tapOrder.get(streamId) ?? [];
          seen.push(Number(d.message.headers[MESSAGE_HEADERS.streamVersion]));
          tapOrder.set(streamId, seen);
        },
      });
      cleanups.push(async () => {
        await tapConsumer.stop();
        await target.removeTopic(broker, topic);
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
      const prefetch = target.consumerPrefetch === undefined ? [] : [String(target.consumerPrefetch)];
      const consumers = ['consumer-a', 'consumer-b'].map((name) =>
        role(name, 'status', () => spawnWorker('../../transport/workers/fault-run-consumer-worker.ts', [target.kind, target.url, POSTGRES_URL, schema, topic, table, name, ...prefetch])),
      );
      const relay = role('relay', 'published', () => spawnWorker('../../transport/workers/relay-worker.ts', [POSTGRES_URL, schema, target.kind, target.url, topic, '200', '0']));
      // The consumers first: they declare the group's queues, so nothing the relay publishes is unroutable.
      await Promise.all(consumers.map(start));
      await start(relay);

      const random = seeded(SEED);
      const schedule = (): number[] => Array.from({ length: KILLS_EACH }, () => Math.round(1_000 + random() * (WINDOW_MS - 1_000))).sort((a, b) => a - b);
      const kills = new Map(roles.map((r) => [r, schedule()]));
      const restartAt = Math.round(WINDOW_MS * (0.3 + random() * 0.4));
      log(`seed ${SEED}: ${[...kills].map(([r, times]) => `${r.name} at ${times.join(', ')} ms`).join('; ')}; ${target.name} restart at ${restartAt} ms`);

      const t0 = Date.now();
      serverRestart = restartServer(restartAt, t0);
      await Promise.all([produce(store, t0), serverRestart, ...[...kills].map(([r, times]) => killAt(r, times, t0))]);

      const distinct = async () => Number((await store.client.query<{ n: string }>(`SELECT count(DISTINCT event_id) AS n FROM ${table}`)).rows[0]!.n);
      await eventually(async () => (await distinct()) >= EVENTS && tapped.size >= EVENTS, 120_000, `${EVENTS} distinct effects`);
      log(`all ${EVENTS} effects (and all published) at ${Date.now() - t0} ms`);
      // Then nothing more is published, and the consumers drain what is left (re-publishes, redeliveries),
      // so that a doubled effect arriving late would be counted too.
      stopped = true;
      await kill(relay.current!);
      const partitionsEmpty = async () => Object.values((await target.depths(topic)).partitions).every((n) => n === 0);
      await eventually(partitionsEmpty, 60_000, 'the partitions to drain');
      log(`partitions drained at ${Date.now() - t0} ms`);
      for (const r of consumers) await kill(r.current!);
      const depths = await target.depths(topic);

      const { rows: [totals] } = await store.client.query<{ total: string; distinct: string }>(`SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM ${table}`);
      const logIds = new Set<string>();
      for await (const e of store.readAll()) logIds.add(e.id);
      const effectIds = (await store.client.query<{ event_id: string }>(`SELECT DISTINCT event_id FROM ${table}`)).rows.map((r) => r.event_id);
      const { rows: orders } = await store.client.query<{ stream_id: string; versions: number[] }>(
        `SELECT stream_id, array_agg(stream_version ORDER BY seq) AS versions FROM ${table} GROUP BY stream_id`,
      );
      const outOfOrder = orders.filter((o) => o.versions.some((v, i) => v !== i + 1)).map((o) => o.stream_id);
      for (const streamId of outOfOrder) {
        // Where a stream broke: the effects around it (version by worker, in handling order) and the order the tap saw.
        const { rows } = await store.client.query<{ stream_version: number; worker: string }>(`SELECT stream_version, worker FROM ${table} WHERE stream_id = $1 ORDER BY seq`, [streamId]);
        const at = rows.findIndex((r, i) => r.stream_version !== i + 1);
        const around = rows.slice(Math.max(0, at - 5), at + 10).map((r) => `${r.stream_version}${r.worker.slice(-1)}`);
        const seen = tapOrder.get(streamId) ?? [];
        const tapAt = seen.findIndex((v, i) => v !== i + 1);
        log(`${streamId} out of order at effect ${at + 1}: ${around.join(' ')}; the tap saw it ${tapAt < 0 ? 'in order' : `out of order at ${tapAt + 1}: ${seen.slice(Math.max(0, tapAt - 5), tapAt + 10).join(' ')}`}`);
      }

      const [handled, duplicates] = consumers
        .flatMap((c) => c.outputs)
        .map((w) => lastStatus(w.output()))
        .reduce(([h, d], [wh, wd]) => [h + wh, d + wd], [0, 0]);
      const byWorker = (await store.client.query<{ worker: string; n: string }>(`SELECT worker, count(*) AS n FROM ${table} GROUP BY worker ORDER BY worker`)).rows;
      log(
        JSON.stringify({
          broker: target.name,
          seed: SEED,
          events: EVENTS,
          effects: Number(totals!.total),
          distinctEffects: Number(totals!.distinct),
          kills: Object.fromEntries(roles.map((r) => [r.name, r.kills])),
          processStarts: Object.fromEntries(roles.map((r) => [r.name, r.outputs.length])),
          startsThatDiedBeforeReady: Object.fromEntries(roles.map((r) => [r.name, r.failedStarts])),
          serverRestarts: 1,
          consumerPrefetch: target.consumerPrefetch ?? 'default',
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
      // Nothing dead-lettered and nothing left: every partition of both groups, and both groups' dead letters, empty.
      expect(Object.keys(depths.partitions)).toHaveLength(FAULT_RUN_GROUPS.length * FAULT_RUN_PARTITIONS);
      expect(Object.keys(depths.deadLetters)).toHaveLength(FAULT_RUN_GROUPS.length);
      expect(Object.entries({ ...depths.partitions, ...depths.deadLetters }).filter(([, n]) => n !== 0)).toEqual([]);
      expect(roles.map((r) => r.kills)).toEqual([KILLS_EACH, KILLS_EACH, KILLS_EACH]);
    }, 230_000);
  });
}
