/** Orchestrated sagas on every store: steps, compensation in reverse, retries, timeouts, semantic locks, replays. */
import { expect, it } from 'vitest';
import type { EventStore } from '../../src/core/event-store.js';
import type { SagaResult } from '../../src/sagas/define-saga.js';
import { WorkflowRunner } from '../../src/sagas/workflow-runner.js';
import { describeOnStores, type OnStoresOptions } from '../describe-on-stores.js';
import { eventually, sleep } from './helpers.js';
import { effectsOf, tripSaga, tripServices, type TripData } from './trip-saga.js';

const start = (store: EventStore, trip: TripData) => store.append(`trip-${trip.tripId}`, [{ type: 'TripRequested', data: trip }]);
const inputsOf = (log: { data: unknown }[]) => log.map((e) => (e.data as { input?: { type: string } }).input?.type).filter(Boolean);

export function sagaSuite(stores: OnStoresOptions['stores']): void {
  describeOnStores('sagas', (on) => {
    const run = async (store: EventStore, saga = tripSaga(), calls: string[] = []) => new WorkflowRunner(store, saga, { handlers: tripServices(calls), pollIntervalMs: 50 }).start();

    it('runs the steps in order, each command named <step>/<attempt>, and completes', async () => {
      const store = await on.open();
      const runner = await run(store);
      try {
        await start(store, { tripId: '1' });
        const done = await runner.waitForCompletion('1', { timeoutMs: 20_000 });
        expect(done.result).toEqual({ outcome: 'completed' } satisfies SagaResult);
        expect(done.phase).toBe('completed');
        expect(await effectsOf(store, '1')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
        expect((await runner.queries.instances({ phase: 'completed' })).map((r) => r.instanceId)).toEqual(['1']);
        expect(done.timers).toEqual([]);
      } finally {
        await runner.stop();
      }
    });

    it('compensates the completed steps in reverse order when a step fails, and never the failed one', async () => {
      const store = await on.open();
      const runner = await run(store);
      try {
        await start(store, { tripId: '2', script: { confirm: ['fail'] } });
        const done = await runner.waitForCompletion('2', { timeoutMs: 20_000 });
        expect(done.phase).toBe('compensated');
        expect(done.result).toMatchObject({ outcome: 'compensated', failure: { step: 'confirm', reason: 'failed' } });
        expect(await effectsOf(store, '2')).toEqual([
          'ReserveSeat seat/1',
          'ChargeCard card/1',
          'BookHotel hotel/1',
          'SendConfirmation confirm/1',
          'CancelHotel hotel/compensate/1',
          'RefundCard card/compensate/1',
          'CancelSeat seat/compensate/1',
        ]);
      } finally {
        await runner.stop();
      }
    });

    it('retries a failed step with new attempts (at once, then after a backoff timer), then compensates when none is left', async () => {
      const store = await on.open();
      const runner = await run(store);
      try {
        await start(store, { tripId: 'r1', script: { card: ['fail', 'fail', 'ok'] } });
        await start(store, { tripId: 'r2', script: { card: ['fail'] } });
        expect((await runner.waitForCompletion('r1', { timeoutMs: 20_000 })).phase).toBe('completed');
        expect(await effectsOf(store, 'r1')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'ChargeCard card/2', 'ChargeCard card/3', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
        const r2 = await runner.waitForCompletion('r2', { timeoutMs: 20_000 });
        expect(r2.phase).toBe('compensated');
        expect(await effectsOf(store, 'r2')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'ChargeCard card/2', 'ChargeCard card/3', 'CancelSeat seat/compensate/1']);
        // One backoff: the second retry waited on a durable timer.
        expect(r2.log.filter((e) => e.type === 'WorkflowTimerScheduled' && (e.data as { timer: string }).timer === 'retry')).toHaveLength(1);
      } finally {
        await runner.stop();
      }
    });

    it('fails a step that does not answer within its timeout, and compensates it (it may have taken effect) and the steps before it', async () => {
      const store = await on.open();
      const runner = await run(store, tripSaga({ hotelTimeoutMs: 150 }));
      try {
        await start(store, { tripId: 't', script: { hotel: ['silent'] } });
        const done = await runner.waitForCompletion('t', { timeoutMs: 20_000 });
        expect(done.result).toMatchObject({ outcome: 'compensated', failure: { step: 'hotel', reason: 'timeout' } });
        expect(await effectsOf(store, 't')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'CancelHotel hotel/compensate/1', 'RefundCard card/compensate/1', 'CancelSeat seat/compensate/1']);
      } finally {
        await runner.stop();
      }
    });

    it('fires a step timeout that fell due while no runner ran, after the restart', async () => {
      const store = await on.open();
      const saga = tripSaga({ hotelTimeoutMs: 300 });
      const first = await run(store, saga);
      await start(store, { tripId: 'd', script: { hotel: ['silent'] } });
      await eventually(async () => (await effectsOf(store, 'd')).includes('BookHotel hotel/1'), 20_000, 'hotel asked');
      await first.stop();
      const [timer] = await first.queries.timers({ instanceId: 'd' });
      expect(timer).toMatchObject({ timer: 'timeout' });
      expect((await first.queries.instance('d'))?.phase).toBe('running');
      await sleep(Math.max(0, timer!.dueAt.getTime() - Date.now()) + 100);
      const restarted = await run(store, saga);
      try {
        const done = await restarted.waitForCompletion('d', { timeoutMs: 20_000 });
        expect(done.result).toMatchObject({ outcome: 'compensated', failure: { reason: 'timeout' } });
        const fired = done.log.map((e) => e.data as { input?: { type: string; data: { latenessMs: number } } }).filter((d) => d.input?.type === 'TimerFired');
        expect(fired).toHaveLength(1);
        expect(fired[0]!.input!.data.latenessMs).toBeGreaterThan(0);
        expect(await effectsOf(store, 'd')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'CancelHotel hotel/compensate/1', 'RefundCard card/compensate/1', 'CancelSeat seat/compensate/1']);
      } finally {
        await restarted.stop();
      }
    });

    it('queues a saga behind the holder of its semantic lock, and hands it the lock when the holder completes', async () => {
      const store = await on.open();
      const runner = await run(store, tripSaga({ lock: { resource: () => 'flight-7', policy: 'queue' } }));
      try {
        // The holder waits in its hotel step (no answer) until the test books it.
        await start(store, { tripId: 'a', script: { hotel: ['silent'] } });
        await eventually(async () => (await effectsOf(store, 'a')).includes('BookHotel hotel/1'), 20_000, 'a in its hotel step');
        await start(store, { tripId: 'b' });
        await eventually(async () => (await runner.queries.locks({ resource: 'flight-7' })).length === 2, 20_000, 'b in line');
        expect((await runner.queries.locks({ resource: 'flight-7' })).map((l) => [l.instanceId, l.state])).toEqual([['a', 'held'], ['b', 'queued']]);
        const waiting = (await runner.queries.instance('b'))!;
        expect(waiting.phase).toBe('running');
        expect(inputsOf(waiting.log)).toEqual(['TripRequested', 'LockBusy']);
        expect(await effectsOf(store, 'b')).toEqual([]);
        await store.append('hotel-a', [{ type: 'HotelBooked', data: { tripId: 'a' } }]);
        expect((await runner.waitForCompletion('a', { timeoutMs: 20_000 })).phase).toBe('completed');
        const b = await runner.waitForCompletion('b', { timeoutMs: 20_000 });
        expect(b.phase).toBe('completed');
        expect(inputsOf(b.log).slice(0, 4)).toEqual(['TripRequested', 'LockBusy', 'TimerFired', 'LockAcquired']);
        expect(await effectsOf(store, 'b')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
        expect(await runner.queries.locks({ resource: 'flight-7' })).toEqual([]);
      } finally {
        await runner.stop();
      }
    });

    it('fails a saga at once when its lock is held and its policy is fail; the holder is not disturbed', async () => {
      const store = await on.open();
      const runner = await run(store, tripSaga({ lock: { resource: () => 'flight-8', policy: 'fail' } }));
      try {
        await start(store, { tripId: 'a', script: { hotel: ['silent'] } });
        await eventually(async () => (await effectsOf(store, 'a')).includes('BookHotel hotel/1'), 20_000, 'a in its hotel step');
        await start(store, { tripId: 'b' });
        const b = await runner.waitForCompletion('b', { timeoutMs: 20_000 });
        expect(b.phase).toBe('failed');
        expect(b.result).toMatchObject({ outcome: 'failed', failure: { step: 'lock', reason: 'locked', reply: { resource: 'flight-8', holder: { workflow: 'trip', instanceId: 'a' }, queued: false } } });
        expect(await effectsOf(store, 'b')).toEqual([]);
        expect((await runner.queries.locks()).map((l) => [l.resource, l.instanceId, l.state])).toEqual([['flight-8', 'a', 'held']]);
        expect((await runner.queries.instance('a'))?.phase).toBe('running');
      } finally {
        await runner.stop();
      }
    });

    it('lets a queued saga take over a lock whose hold expired (its holder never finished)', async () => {
      const store = await on.open();
      const runner = await run(store, tripSaga({ lock: { resource: () => 'flight-9', policy: 'queue', expiresAfterMs: 400 } }));
      try {
        await start(store, { tripId: 'a', script: { hotel: ['silent'] } });
        await eventually(async () => (await effectsOf(store, 'a')).includes('BookHotel hotel/1'), 20_000, 'a in its hotel step');
        await start(store, { tripId: 'b' });
        const b = await runner.waitForCompletion('b', { timeoutMs: 20_000 });
        expect(b.phase).toBe('completed');
        expect(await effectsOf(store, 'b')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
        // a's log still says it holds the lock; the table says nobody does any more.
        expect((await runner.queries.instance('a'))?.phase).toBe('running');
        expect(await runner.queries.locks({ resource: 'flight-9' })).toEqual([]);
      } finally {
        await runner.stop();
      }
    });

    it('executes a replayed step once: every input and command handed over again is absorbed', async () => {
      const store = await on.open();
      const calls: string[] = [];
      const first = await run(store, tripSaga(), calls);
      await start(store, { tripId: 'x', script: { confirm: ['fail'] } });
      await first.waitForCompletion('x', { timeoutMs: 20_000 });
      await first.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
      await first.stop();
      const effects = await effectsOf(store, 'x');
      const log = (await first.queries.instance('x'))!.log.map((e) => e.id);
      expect(calls).toHaveLength(effects.length);
      // A new partitioning has checkpoints of its own: inputs and commands are all delivered again.
      const again = await new WorkflowRunner(store, tripSaga(), { handlers: tripServices(calls), partition: { index: 0, count: 1 }, pollIntervalMs: 50 }).start();
      try {
        await again.waitFor(await store.headPosition(), { timeoutMs: 20_000 });
        expect(calls.length).toBe(effects.length * 2);
        expect(again.status().counts.accepted).toBe(0);
        expect(await effectsOf(store, 'x')).toEqual(effects);
        expect((await again.queries.instance('x'))!.log.map((e) => e.id)).toEqual(log);
      } finally {
        await again.stop();
      }
    });
  }, { stores });
}
