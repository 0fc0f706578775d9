// The saga runner SIGKILLed again and again while 500 trip sagas of four steps run through it
// (real processes, real PostgreSQL). Some sagas fail at a later step and compensate. At the end:
// every saga is completed or compensated, every command's effect happened once per command id
// (though a command may be delivered again: counted outside the dispatch's transaction), and every compensated saga undid exactly the steps
// it had done, in reverse order. The worker opens its pool with 8 connections: its command
// handlers count each delivery on the pool, outside their transaction (see saga-worker.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { kill, spawnWorker } from '../../test/runner-suites/processes.js';
import { sleep } from '../../test/runner-suites/helpers.js';
import type { Behaviour, TripData } from '../../test/runner-suites/trip-saga.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

const SAGAS = 500;
const KILLS = 10;

/** Five kinds of trip, by `i % 5`: what its services answer, and the effects it must end with, in order. */
const KINDS: Array<{ script?: Record<string, Behaviour[]>; phase: 'completed' | 'compensated'; effects: string[] }> = [
  { phase: 'completed', effects: ['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1'] },
  // The last step fails: all three before it are undone, the hotel first.
  {
    script: { confirm: ['fail'] },
    phase: 'compensated',
    effects: ['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1', 'CancelHotel hotel/compensate/1', 'RefundCard card/compensate/1', 'CancelSeat seat/compensate/1'],
  },
  // The third step fails: the card is refunded and the seat cancelled, and the hotel (never booked) is not cancelled.
  { script: { hotel: ['fail'] }, phase: 'compensated', effects: ['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'RefundCard card/compensate/1', 'CancelSeat seat/compensate/1'] },
  // A retry (at once) that succeeds.
  { script: { card: ['fail', 'ok'] }, phase: 'completed', effects: ['ReserveSeat seat/1', 'ChargeCard card/1', 'ChargeCard card/2', 'BookHotel hotel/1', 'SendConfirmation confirm/1'] },
  // Three attempts (the last after a durable backoff timer), then only the seat is undone.
  { script: { card: ['fail'] }, phase: 'compensated', effects: ['ReserveSeat seat/1', 'ChargeCard card/1', 'ChargeCard card/2', 'ChargeCard card/3', 'CancelSeat seat/compensate/1'] },
];
const FORWARD = new Set(['ReserveSeat', 'ChargeCard', 'BookHotel', 'SendConfirmation']);
const UNDO: Record<string, string> = { CancelSeat: 'seat', RefundCard: 'card', CancelHotel: 'hotel' };

/** Polls every 200 ms (not every 10 ms: the counts are queries on a busy database, sharing it with the runner). */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: () => Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${await what()}`);
    await sleep(200);
  }
}

describe.skipIf(Boolean(skip))(`saga runner crashes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it(`ends ${SAGAS} sagas completed or compensated through ${KILLS} SIGKILLs of the runner: each effect once, compensations in reverse`, { timeout: 180_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const s = store.names.s;
    try {
      await store.client.query(`CREATE TABLE ${s}received (command_id text PRIMARY KEY, trip_id text NOT NULL, seen integer NOT NULL DEFAULT 1)`);
      await store.client.query(`CREATE TABLE ${s}attempts (command_id text PRIMARY KEY, n integer NOT NULL DEFAULT 1)`);
      for (let i = 0; i < SAGAS; i++) {
        const kind = KINDS[i % KINDS.length]!;
        const trip: TripData = { tripId: String(i), ...(kind.script ? { script: kind.script } : {}) };
        await store.append(`trip-${i}`, [{ type: 'TripRequested', data: trip }]);
      }
      const effectCount = async () => Number((await store.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}events WHERE stream_id LIKE 'effects-%'`)).rows[0]!.n);
      const phases = async () => {
        const { rows } = await store.client.query<{ phase: string; n: string }>(`SELECT phase, count(*) AS n FROM ${s}workflow_instances WHERE workflow = 'trip' GROUP BY phase`);
        return Object.fromEntries(rows.map((r) => [r.phase, Number(r.n)]));
      };
      const terminal = async () => {
        const p = await phases();
        return (p.completed ?? 0) + (p.compensated ?? 0);
      };
      const started = Date.now();
      const progress: number[] = [];
      let killed = 0;
      for (; killed < KILLS; killed++) {
        const worker = spawnWorker('saga-worker.ts', [POSTGRES_URL, schema]);
        try {
          await worker.ready;
          // Mid-run: once this runner has applied some effects, at a random moment after that.
          const before = await effectCount();
          await until(async () => (await effectCount()) > before + 20 || (await terminal()) === SAGAS, 30_000, async () => `progress: ${before} effects; ${worker.output().slice(-500)}`);
          await sleep(Math.floor(Math.random() * 400));
        } finally {
          await kill(worker);
        }
        progress.push(await terminal());
      }
      const last = spawnWorker('saga-worker.ts', [POSTGRES_URL, schema]);
      try {
        await last.ready;
        await until(async () => (await terminal()) === SAGAS, 90_000, async () => `every saga completed or compensated: ${JSON.stringify(await phases())}, ${await effectCount()} effects; ${last.output().slice(-800)}`);
      } finally {
        await kill(last);
      }
      const seconds = (Date.now() - started) / 1000;
      expect(killed).toBe(KILLS);
      // The kills landed while sagas were under way, not after the work was done.
      expect(progress.filter((n) => n < SAGAS).length).toBeGreaterThanOrEqual(KILLS - 1);

      // Every saga reached a terminal phase, and the one its script leads to.
      const expectedPhases = { completed: 0, compensated: 0 };
      for (let i = 0; i < SAGAS; i++) expectedPhases[KINDS[i % KINDS.length]!.phase]++;
      expect(await phases()).toEqual(expectedPhases);

      // Effects: once per deterministic command id; deliveries may have been more.
      const effects = (await store.client.query<{ stream_id: string; command: string; command_id: string }>(
        `SELECT stream_id, data->>'command' AS command, data->>'commandId' AS command_id FROM ${s}events WHERE stream_id LIKE 'effects-%' ORDER BY global_position`,
      )).rows;
      const perCommand = new Map<string, number>();
      for (const e of effects) perCommand.set(e.command_id, (perCommand.get(e.command_id) ?? 0) + 1);
      const duplicates = [...perCommand].filter(([, n]) => n > 1);
      expect(duplicates).toEqual([]);
      const received = (await store.client.query<{ command_id: string; seen: number }>(`SELECT command_id, seen FROM ${s}received`)).rows;
      expect(new Set(received.map((r) => r.command_id))).toEqual(new Set(perCommand.keys()));
      const deliveries = received.reduce((sum, r) => sum + r.seen, 0);
      expect(deliveries).toBeGreaterThanOrEqual(effects.length);
      // Every delivery, counted outside the transaction: a kill mid-dispatch leaves a command delivered again.
      const attempts = (await store.client.query<{ command_id: string; n: number }>(`SELECT command_id, n FROM ${s}attempts`)).rows;
      expect(new Set(attempts.map((r) => r.command_id))).toEqual(new Set(perCommand.keys()));
      const attempted = attempts.reduce((sum, r) => sum + r.n, 0);
      const redelivered = attempts.filter((r) => r.n > 1).length;
      expect(attempted).toBeGreaterThanOrEqual(deliveries);

      // Each saga's effects, in the order they happened, are exactly its kind's.
      const byTrip = new Map<string, string[]>();
      for (const e of effects) {
        const tripId = e.stream_id.slice('effects-'.length);
        const list = byTrip.get(tripId) ?? [];
        list.push(`${e.command} ${e.command_id.slice(`workflow-trip-${tripId}/`.length)}`);
        byTrip.set(tripId, list);
      }
      const wrong: Array<{ tripId: string; effects: string[] | undefined }> = [];
      for (let i = 0; i < SAGAS; i++) if (JSON.stringify(byTrip.get(String(i))) !== JSON.stringify(KINDS[i % KINDS.length]!.effects)) wrong.push({ tripId: String(i), effects: byTrip.get(String(i)) });
      expect(wrong).toEqual([]);
      expect(effects.length).toBe([...Array(SAGAS).keys()].reduce((sum, i) => sum + KINDS[i % KINDS.length]!.effects.length, 0));

      // Stated on its own: in every compensated saga the undone steps are the steps it completed
      // (a forward step answered ok, so not the one that failed), in reverse order.
      let compensatedInReverse = 0;
      for (let i = 0; i < SAGAS; i++) {
        const kind = KINDS[i % KINDS.length]!;
        if (kind.phase !== 'compensated') continue;
        const list = byTrip.get(String(i)) ?? [];
        const undone = list.filter((e) => UNDO[e.split(' ')[0]!] !== undefined).map((e) => UNDO[e.split(' ')[0]!]);
        const failedStep = Object.keys(kind.script!)[0]!;
        const done = [...new Set(list.filter((e) => FORWARD.has(e.split(' ')[0]!)).map((e) => e.split(' ')[1]!.split('/')[0]!))].filter((step) => step !== failedStep && step !== 'confirm');
        if (JSON.stringify(undone) === JSON.stringify([...done].reverse())) compensatedInReverse++;
      }
      expect(compensatedInReverse).toBe(expectedPhases.compensated);

      expect(Number((await store.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}dead_letters`)).rows[0]!.n)).toBe(0);
      console.log(`saga crash test: ${SAGAS} sagas, ${KILLS} SIGKILLs, ${effects.length} effects once each, ${attempted} deliveries (${redelivered} commands delivered more than once), ${deliveries} committed, in ${seconds.toFixed(1)} s`);
    } finally {
      await store.close();
    }
  });
});
