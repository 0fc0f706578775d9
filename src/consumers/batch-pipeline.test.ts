// Overlapping pages of a batch handler (the relay's pipelining) on every store: settled in log
// order whatever order their outcomes come in; a page that stops short or fails drops the
// pages after it, which are read and handed over again from the checkpoint.
import { afterAll, afterEach, expect, it } from 'vitest';
import type { RecordedEvent } from '../core/message.js';
import type { BatchOutcome } from './deliver-batch.js';
import { Subscription } from './subscription.js';
import { describeOnStores } from '../../test/describe-on-stores.js';
import { ev, eventually, sleep } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas } from '../../test/stores.js';

afterAll(() => dropSchemas(createdSchemas));

interface Call {
  events: RecordedEvent[];
  answer: (outcomes: BatchOutcome[]) => void;
  fail: (error: unknown) => void;
}

describeOnStores('batch pipeline', (on) => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  /** Calls left unanswered by a failed test would hold its stop: answered (pending) first. */
  const open: Call[][] = [];
  afterEach(() => {
    for (const call of open.splice(0).flat()) call.answer(call.events.map(() => ({ status: 'pending' })));
  });

  /** A subscription whose batch handler answers only when the test says so. */
  const setUp = async () => {
    const store = await on.open();
    for (let i = 0; i < 30; i++) await store.append(`s-${i % 3}`, [ev('Happened', { i })]);
    const calls: Call[] = [];
    open.push(calls);
    const errors: unknown[] = [];
    const subscription = new Subscription(store, {
      name: 'pipelined',
      handler: () => {},
      transactional: false,
      batchSize: 10,
      maxInFlight: 100,
      pollIntervalMs: 50,
      batchHandler: (events) => new Promise<BatchOutcome[]>((answer, fail) => void calls.push({ events, answer, fail })),
      onError: (error) => void errors.push(error),
    });
    stops.push(() => subscription.stop());
    const done = (call: Call) => call.answer(call.events.map(() => ({ status: 'done' })));
    const numbers = (call: Call) => call.events.map((e) => Number((e.data as { i: number }).i));
    return { store, subscription, calls, errors, done, numbers, head: await store.headPosition() };
  };

  it('hands three pages over at once and moves the checkpoint past none of them while the first is unanswered, then to the head', async () => {
    const { subscription, calls, done, head } = await setUp();
    await subscription.start();
    await eventually(() => calls.length === 3, 10_000, 'three pages in flight');
    done(calls[2]!);
    done(calls[1]!);
    await sleep(100);
    expect(subscription.status().position).toBe(0n);
    done(calls[0]!);
    await subscription.waitFor(head);
    expect(subscription.status().position).toBe(head);
    expect(calls).toHaveLength(3);
  });

  it('stops the checkpoint before a pending event of the first page and hands everything after it over again, the later pages` answers dropped', async () => {
    const { subscription, calls, done, numbers, head } = await setUp();
    await subscription.start();
    await eventually(() => calls.length === 3, 10_000, 'three pages in flight');
    done(calls[1]!);
    done(calls[2]!);
    calls[0]!.answer(calls[0]!.events.map((_, k) => ({ status: k < 4 ? 'done' : 'pending' })));
    await eventually(() => calls.length >= 4, 10_000, 'the read from the checkpoint');
    expect(subscription.status().position).toBe(calls[0]!.events[3]!.globalPosition);
    expect(numbers(calls[3]!)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    await eventually(() => calls.length === 6, 10_000, 'the rest in flight again');
    for (const call of calls.slice(3)) done(call);
    await subscription.waitFor(head);
    expect(calls.slice(3).flatMap(numbers)).toEqual(Array.from({ length: 26 }, (_, i) => i + 4));
  });

  it('reports a page whose handler failed and reads again after the last settled page; nothing is passed unanswered', async () => {
    const { subscription, calls, errors, done, numbers, head } = await setUp();
    await subscription.start();
    await eventually(() => calls.length === 3, 10_000, 'three pages in flight');
    done(calls[0]!);
    calls[1]!.fail(new Error('handler broke'));
    done(calls[2]!);
    await eventually(() => calls.length >= 4, 10_000, 'the read after page 1');
    expect(errors.map((e) => (e as Error).message)).toContain('handler broke');
    expect(subscription.status().position).toBe(calls[0]!.events[9]!.globalPosition);
    expect(numbers(calls[3]!)).toEqual(numbers(calls[1]!));
    await eventually(() => calls.length === 5, 10_000, 'page 3 again');
    done(calls[3]!);
    done(calls[4]!);
    await subscription.waitFor(head);
    expect(calls.slice(3).flatMap(numbers)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
  });
});
