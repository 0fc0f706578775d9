// Tracing, metrics and logging of the store and its runners, with a real OpenTelemetry SDK
// (in-memory exporters), on the memory store.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installTelemetry, type TestTelemetry } from '../../../test/telemetry.js';
import { Subscription } from '../../consumers/subscription.js';
import { MemoryEventStore } from '../../store/memory/memory-event-store.js';
import type { Logger } from '../logger.js';
import { spanContextOf, traceparentOf } from './trace-context.js';
import * as api from '@opentelemetry/api';

let telemetry: TestTelemetry;
beforeAll(() => (telemetry = installTelemetry()));
afterAll(() => telemetry.shutdown());
afterEach(() => telemetry.reset());

const parentOf = (span: { parentSpanContext?: { spanId: string } }) => span.parentSpanContext?.spanId;

describe('telemetry', () => {
  it('an append is a producer span whose context every event carries as traceparent', async () => {
    const store = new MemoryEventStore();
    await store.append('order-1', [{ type: 'OrderPlaced', data: {} }, { type: 'OrderPaid', data: {} }]);
    const [span] = telemetry.spans().filter((s) => s.name === 'send order');
    expect(span).toBeDefined();
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.attributes).toMatchObject({ 'messaging.system': 'factum', 'messaging.operation.type': 'send', 'messaging.destination.name': 'order', 'messaging.batch.message_count': 2 });
    const events = [];
    for await (const e of store.readStream('order-1')) events.push(e);
    expect(events.map((e) => e.metadata.traceparent)).toEqual([traceparentOf(span!.spanContext()), traceparentOf(span!.spanContext())]);
    const appended = await telemetry.points('factum_events_appended_total');
    expect(appended).toContainEqual({ labels: { category: 'order' }, value: 2 });
    const durations = await telemetry.points('factum_append_duration_seconds');
    expect(durations.find((p) => p.labels.category === 'order' && p.labels.outcome === 'ok')?.value).toMatchObject({ count: 1 });
    await store.close();
  });

  it('counts appended events once they commit: not a rolled-back transaction, not an idempotent retry', async () => {
    const store = new MemoryEventStore();
    const placed = { id: '0190a0a0-0000-7000-8000-000000000001', type: 'OrderPlaced', data: {} };
    await store.append('receipt-1', [placed]);
    await store.append('receipt-1', [placed]); // the same event again: absorbed, nothing written
    await store.transaction(async (tx) => tx.append('receipt-2', [{ type: 'OrderPlaced', data: {} }, { type: 'OrderPaid', data: {} }]));
    await expect(
      store.transaction(async (tx) => {
        await tx.append('receipt-3', [{ type: 'OrderPlaced', data: {} }]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    // Counters are cumulative over the file's tests: this category is this test's alone.
    expect((await telemetry.points('factum_events_appended_total')).filter((p) => p.labels.category === 'receipt')).toEqual([{ labels: { category: 'receipt' }, value: 3 }]);
    await store.close();
  });

  it('keeps a traceparent the caller put in the metadata, and marks a refused append as an error', async () => {
    const store = new MemoryEventStore();
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await store.append('cart-1', [{ type: 'ItemAdded', data: {}, metadata: { traceparent: own } }]);
    const [event] = (await store.loadStream('cart-1')).events;
    expect(event!.metadata.traceparent).toBe(own);
    await expect(store.append('cart-1', [{ type: 'ItemAdded', data: {} }], { expectedVersion: 'no_stream' })).rejects.toMatchObject({ code: 'CONCURRENCY_CONFLICT' });
    const failed = telemetry.spans().find((s) => s.name === 'send cart' && s.status.code === SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('CONCURRENCY_CONFLICT');
    const durations = await telemetry.points('factum_append_duration_seconds');
    expect(durations.some((p) => p.labels.category === 'cart' && p.labels.outcome === 'error')).toBe(true);
    await store.close();
  });

  it('a handler runs in a consumer span parented by the append, and its own appends continue the trace', async () => {
    const store = new MemoryEventStore();
    const sub = new Subscription(store, {
      name: 'shipping',
      filter: { types: ['OrderPaid'] },
      handler: async (event, context) => {
        await context.append(`shipment-${event.streamId}`, [{ type: 'ShipmentRequested', data: {} }]);
      },
    });
    await sub.start();
    const { lastPosition } = await store.append('order-7', [{ type: 'OrderPaid', data: {} }]);
    await sub.waitFor(lastPosition);
    await sub.stop();
    const spans = telemetry.spans();
    const append = spans.find((s) => s.name === 'send order')!;
    const process = spans.find((s) => s.name === 'process shipping')!;
    const next = spans.find((s) => s.name === 'send shipment')!;
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'shipping', 'messaging.destination.name': 'order' });
    expect(parentOf(process)).toBe(append.spanContext().spanId);
    expect(parentOf(next)).toBe(process.spanContext().spanId);
    expect(new Set([append, process, next].map((s) => s.spanContext().traceId)).size).toBe(1);
    const [shipment] = (await store.loadStream('shipment-order-7')).events;
    expect(spanContextOf(api, shipment!.metadata)?.spanId).toBe(next.spanContext().spanId);
    const handled = await telemetry.points('factum_handler_duration_seconds');
    expect(handled.find((p) => p.labels.runner === 'shipping' && p.labels.outcome === 'ok')?.value).toMatchObject({ count: 1 });
    await store.close();
  });

  it('a failing handler: error spans, a dead-letter count, and log lines for the failures, the dead letter and the states', async () => {
    const store = new MemoryEventStore();
    const lines: Array<{ level: string; fields: Record<string, unknown>; message?: string }> = [];
    const logger: Logger = {
      error: (fields, message) => lines.push({ level: 'error', fields: fields as Record<string, unknown>, message }),
      warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
      info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    };
    const sub = new Subscription(store, {
      name: 'mailer',
      logger,
      retry: { immediateRetries: 1, backoffRetries: 0 },
      handler: () => {
        throw Object.assign(new Error('smtp down'), { code: 'ECONNREFUSED' });
      },
    });
    await sub.start();
    await store.append('user-1', [{ type: 'UserRegistered', data: {} }]);
    await expect.poll(async () => (await sub.deadLetters()).filter((d) => d.status === 'dead').length, { timeout: 5000 }).toBe(1);
    await sub.stop();
    const failures = telemetry.spans().filter((s) => s.name === 'process mailer');
    expect(failures.length).toBe(2);
    expect(failures.every((s) => s.status.code === SpanStatusCode.ERROR && s.attributes['error.type'] === 'ECONNREFUSED')).toBe(true);
    expect(await telemetry.points('factum_dead_letters_total')).toContainEqual({ labels: { runner: 'mailer', kind: 'subscription' }, value: 1 });
    expect(lines.filter((l) => l.level === 'error' && l.fields.runner === 'mailer').length).toBeGreaterThanOrEqual(2);
    expect(lines.find((l) => l.level === 'warn')?.message).toMatch(/dead letter/);
    expect(lines.filter((l) => l.level === 'info').map((l) => l.fields.state)).toEqual(['running', 'stopped']);
    await store.close();
  });

  it('reports every running subscription lag in events and seconds, measured against the head while its handler is stuck', async () => {
    const store = new MemoryEventStore();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const sub = new Subscription(store, { name: 'slow-projection', handler: () => held });
    await sub.start();
    for (let i = 0; i < 5; i++) await store.append(`item-${i}`, [{ type: 'ItemStocked', data: {} }]);
    await expect.poll(async () => (await telemetry.points('factum_lag_events')).find((p) => p.labels.runner === 'slow-projection')?.value, { timeout: 5000 }).toBe(5);
    const seconds = (await telemetry.points('factum_lag_seconds')).find((p) => p.labels.runner === 'slow-projection');
    expect(seconds?.labels.kind).toBe('subscription');
    expect(seconds?.value as number).toBeGreaterThanOrEqual(0);
    release();
    await expect.poll(async () => (await telemetry.points('factum_lag_events')).find((p) => p.labels.runner === 'slow-projection')?.value, { timeout: 5000 }).toBe(0);
    await sub.stop();
    await store.close();
  });
});
