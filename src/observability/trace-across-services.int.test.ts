// One trace from a command to the saga step it drives in another service, across RabbitMQ: a
// real OpenTelemetry SDK (in-memory exporter), two PostgreSQL stores, the relay, a broker consumer
// with its inbox, and an orchestrated saga.
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { handleCommand } from '../domain/handle-command.js';
import { WorkflowRunner } from '../sagas/workflow-runner.js';
import { EventConsumer } from '../transport/consumer/event-consumer.js';
import { openRabbitMqBroker } from '../transport/rabbitmq/rabbitmq-broker.js';
import { Relay } from '../transport/relay/relay.js';
import { postgresUnavailable, serviceUnavailable } from '../../test/services.js';
import { createdSchemas, dropSchemas, openTestPostgres } from '../../test/stores.js';
import { installTelemetry } from '../../test/telemetry.js';
import { tripSaga, tripServices, type TripData } from '../../test/runner-suites/trip-saga.js';

const AMQP_URL = process.env.FACTUM_AMQP_URL ?? 'amqp://127.0.0.1';
const skip = (await postgresUnavailable()) ?? (await serviceUnavailable('RabbitMQ', 5672));

afterAll(() => dropSchemas(createdSchemas));

type RequestTrip = { type: 'RequestTrip'; data: TripData };
const booking = {
  initialState: () => ({ requested: false }),
  evolve: () => ({ requested: true }),
  decide: (command: RequestTrip, state: { requested: boolean }) => (state.requested ? [] : [{ type: 'TripRequested', data: command.data }]),
};

describe.skipIf(skip)(`a trace across services${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('runs from a command through the append, the relay, RabbitMQ, a consumer in another service and its saga step, to the next append', async () => {
    const telemetry = installTelemetry();
    const bookings = await openTestPostgres();
    const travel = await openTestPostgres();
    const category = `booking${randomUUID().slice(0, 8)}`;
    const broker = await openRabbitMqBroker({ url: AMQP_URL });
    const relay = await new Relay(bookings, { name: 'outbox', broker, pollIntervalMs: 50 }).start();
    const consumer = await new EventConsumer({
      name: 'travel-intake',
      broker,
      topic: category,
      store: travel,
      // The other service keeps its own copy, which starts its saga.
      handler: (event, context) => context.append(`trip-${(event.data as TripData).tripId}`, [{ type: 'TripRequested', data: event.data }]).then(() => undefined),
    }).start();
    const runner = await new WorkflowRunner(travel, tripSaga(), { handlers: tripServices(), pollIntervalMs: 50 }).start();
    try {
      const tripId = randomUUID();
      await handleCommand(bookings, `${category}-${tripId}`, { type: 'RequestTrip', data: { tripId } } as RequestTrip, booking);
      expect((await runner.waitForCompletion(tripId, { timeoutMs: 30_000 })).phase).toBe('completed');

      const spans = telemetry.spans();
      const command = spans.find((s) => s.name === 'handle RequestTrip')!;
      const inTrace = spans.filter((s) => s.spanContext().traceId === command.spanContext().traceId);
      const one = (predicate: (s: ReadableSpan) => boolean, what: string): ReadableSpan => {
        const found = inTrace.filter(predicate);
        expect(found.length, what).toBeGreaterThanOrEqual(1);
        return found[0]!;
      };
      const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
      const append = one((s) => s.name === `send ${category}` && s.attributes['messaging.system'] === 'factum', 'the append');
      const publish = one((s) => s.name === `send ${category}` && s.attributes['messaging.system'] === 'rabbitmq', 'the relay publish');
      const consume = one((s) => s.name === 'process travel-intake', 'the consumer');
      const copy = one((s) => s.name === 'send trip' && parentOf(s) === consume.spanContext().spanId, 'the consumer append');
      const input = one((s) => s.name === 'process workflow:trip' && parentOf(s) === copy.spanContext().spanId, 'the saga input');
      const step = one((s) => s.name === 'step trip' && parentOf(s) === input.spanContext().spanId, 'the saga step');
      const sagaLog = one((s) => s.name === 'send workflow' && parentOf(s) === step.spanContext().spanId, 'the saga log append');
      const dispatch = one((s) => s.name === 'process workflow:trip:commands', 'the command dispatch');
      const effect = one((s) => s.name === 'send effects' && parentOf(s) === dispatch.spanContext().spanId, 'the effect append');

      expect(parentOf(append)).toBe(command.spanContext().spanId);
      expect(append.kind).toBe(SpanKind.PRODUCER);
      expect(parentOf(publish)).toBe(append.spanContext().spanId);
      expect(publish.links.map((l) => l.context.spanId)).toContain(append.spanContext().spanId);
      expect(publish.attributes).toMatchObject({ 'messaging.destination.name': category, 'messaging.operation.type': 'send' });
      // Across the broker: the consumer's span is parented by the append, through the traceparent header.
      expect(parentOf(consume)).toBe(append.spanContext().spanId);
      expect(consume.kind).toBe(SpanKind.CONSUMER);
      expect(consume.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.destination.name': category, 'messaging.consumer.group.name': 'travel-intake' });
      expect(step.attributes).toMatchObject({ 'factum.workflow.name': 'trip', 'factum.workflow.instance': tripId, 'factum.workflow.input': 'TripRequested' });
      expect(sagaLog.kind).toBe(SpanKind.PRODUCER);
      expect(effect.kind).toBe(SpanKind.PRODUCER);
      // Every step of the saga (four commands, their replies) stays in the command's trace.
      expect(inTrace.filter((s) => s.name === 'step trip').length).toBeGreaterThanOrEqual(5);
    } finally {
      await runner.stop();
      await consumer.stop();
      await relay.stop();
      await broker.deleteTopology(category, ['travel-intake']).catch(() => {});
      await broker.close();
      await bookings.close();
      await travel.close();
      await telemetry.shutdown();
    }
  });
});
