import type { EventMetadata, NewEvent } from '../message.js';
import { streamCategory } from '../message.js';
import { instruments, secondsSince } from './instruments.js';
import { otel, type OtelApi } from './otel-api.js';
import { spanContextOf, stampTraceContext } from './trace-context.js';

const TRACER = 'factum';

/** `messaging.system` of events that never left the store (subscriptions, projections, workflows). */
export const STORE_SYSTEM = 'factum';

/** The error's stable code for `error.type`: a FactumError's code, a Node system error's, or its class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.constructor.name : 'unknown';
}

function failed(api: typeof OtelApi, span: OtelApi.Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Runs `work` inside `span` (so spans and appends it makes are its children), and ends it. */
async function within<T>(api: typeof OtelApi, span: OtelApi.Span, parent: OtelApi.Context, work: () => Promise<T>): Promise<T> {
  try {
    return await api.context.with(api.trace.setSpan(parent, span), work);
  } catch (error) {
    failed(api, span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * An append as an OpenTelemetry producer span (`send <category>`), with the span's context stamped
 * into every event's metadata as `traceparent`/`tracestate`, and the `factum_events_appended_total`
 * and `factum_append_duration_seconds` metrics. `append` gets the stamped events.
 */
export async function tracedAppend<T>(streamId: string, events: NewEvent[], append: (events: NewEvent[]) => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return append(events);
  const category = typeof streamId === 'string' ? streamCategory(streamId) : 'invalid';
  const count = Array.isArray(events) ? events.length : 0;
  const started = performance.now();
  const parent = api.context.active();
  const span = api.trace.getTracer(TRACER).startSpan(
    `send ${category}`,
    {
      kind: api.SpanKind.PRODUCER,
      attributes: {
        'messaging.system': STORE_SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'append',
        'messaging.destination.name': category,
        'messaging.batch.message_count': count,
      },
    },
    parent,
  );
  const context = span.spanContext();
  const stamped = api.isSpanContextValid(context) ? stampTraceContext(events, context) : events;
  let outcome = 'error';
  try {
    const result = await within(api, span, parent, () => append(stamped));
    outcome = 'ok';
    return result;
  } finally {
    const metrics = instruments()!;
    if (outcome === 'ok') metrics.eventsAppended.add(count, { category });
    metrics.appendDuration.record(secondsSince(started), { category, outcome });
  }
}

/** Who handles: names the span, the consumer group and the metrics' `runner` label. */
export interface HandlingRunner {
  name: string;
  /** `messaging.system`: `factum` for the store's own runners, the broker's name for a broker consumer. */
  system: string;
  /** Where the messages come from: a broker topic; a stream category for the store's runners. */
  destination?: string;
}

/** What a handled message gives its span: its id and the metadata holding its producer's trace context. */
export interface HandledMessage {
  id: string;
  streamId: string;
  metadata: EventMetadata;
}

/**
 * A handler's work as a consumer span (`process <runner>`) covering its whole time: parented by
 * the producer's context for one message, linked to every producer for a batch; and the
 * `factum_handler_duration_seconds` metric. Appends the handler makes are children of this span.
 */
export async function tracedHandling<T>(runner: HandlingRunner, messages: HandledMessage | HandledMessage[], work: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return work();
  const started = performance.now();
  const batch = Array.isArray(messages) ? messages : undefined;
  const single = batch ? undefined : (messages as HandledMessage);
  const producer = single ? spanContextOf(api, single.metadata) : undefined;
  const parent = producer ? api.trace.setSpanContext(api.ROOT_CONTEXT, producer) : api.context.active();
  const links: OtelApi.Link[] = [];
  for (const message of batch ?? []) {
    const context = spanContextOf(api, message.metadata);
    if (context) links.push({ context });
  }
  const destination = runner.destination ?? (single ? streamCategory(single.streamId) : undefined);
  const span = api.trace.getTracer(TRACER).startSpan(
    `process ${runner.name}`,
    {
      kind: api.SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': runner.system,
        'messaging.operation.type': 'process',
        'messaging.consumer.group.name': runner.name,
        ...(destination ? { 'messaging.destination.name': destination } : {}),
        ...(single ? { 'messaging.message.id': single.id } : { 'messaging.batch.message_count': batch!.length }),
      },
    },
    parent,
  );
  let outcome = 'error';
  try {
    const result = await within(api, span, parent, work);
    outcome = 'ok';
    return result;
  } finally {
    instruments()!.handlerDuration.record(secondsSince(started), { runner: runner.name, outcome });
  }
}

/**
 * The relay's publish of one batch to a broker topic as a producer span (`send <topic>`), linked to
 * every event's producer (read from the messages' `headers`), and a child of their trace when the whole batch belongs to one (a
 * single command's events). The messages keep their events' own `traceparent` in their headers,
 * so a consumer's span continues the append's trace.
 */
export async function tracedPublish<T>(system: string, topic: string, headers: EventMetadata[], publish: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return publish();
  const links: OtelApi.Link[] = [];
  for (const carrier of headers) {
    const context = spanContextOf(api, carrier);
    if (context) links.push({ context });
  }
  const oneTrace = links.length === headers.length && links.length > 0 && links.every((link) => link.context.traceId === links[0]!.context.traceId);
  const parent = oneTrace ? api.trace.setSpanContext(api.ROOT_CONTEXT, links[0]!.context) : api.context.active();
  const span = api.trace.getTracer(TRACER).startSpan(
    `send ${topic}`,
    {
      kind: api.SpanKind.PRODUCER,
      links,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': headers.length,
      },
    },
    parent,
  );
  return within(api, span, parent, publish);
}

/** Work of factum's own (handling a command, a saga's step) as an internal span, a child of the active context. */
export async function tracedStep<T>(name: string, attributes: Record<string, string | number>, work: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return work();
  const parent = api.context.active();
  const span = api.trace.getTracer(TRACER).startSpan(name, { kind: api.SpanKind.INTERNAL, attributes }, parent);
  return within(api, span, parent, work);
}
