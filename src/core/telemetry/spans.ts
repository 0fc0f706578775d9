import type { EventMetadata, NewEvent } from '../message.js';
import { streamCategory } from '../message.js';
import { instruments, secondsSince } from './instruments.js';
import { otel, type OtelApi } from './otel-api.js';
import { spanContextOf, stampTraceContext } from './trace-context.js';

/** `messaging.system` of events that never left the store (subscriptions, projections, workflows). */
export const STORE_SYSTEM = 'factum';

let cachedTracer: { provider: OtelApi.TracerProvider; tracer: OtelApi.Tracer } | undefined;

/** factum's tracer from the provider registered now (looked up once per provider: this runs per event). */
function tracer(api: typeof OtelApi): OtelApi.Tracer {
  const provider = api.trace.getTracerProvider();
  if (cachedTracer?.provider !== provider) cachedTracer = { provider, tracer: provider.getTracer('factum') };
  return cachedTracer.tracer;
}

/** The error's stable code for `error.type`: a FactumError's code, a Node system error's, or its class name. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.constructor.name : 'unknown';
}

/** Marks `span` as failed by `error`. */
function fail(api: typeof OtelApi, span: OtelApi.Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Ends `span` when `running` settles (marking a failure) and tells `done` whether it succeeded.
 * Callbacks on the promise rather than an async frame: this wraps every event, and with a
 * context manager every promise made costs its hooks.
 */
function endWhenSettled<T>(api: typeof OtelApi, span: OtelApi.Span, running: Promise<T>, done?: (ok: boolean) => void): Promise<T> {
  return running.then(
    (result) => {
      span.end();
      done?.(true);
      return result;
    },
    (error: unknown) => {
      fail(api, span, error);
      span.end();
      done?.(false);
      throw error;
    },
  );
}

/** `work()`'s promise, a synchronous throw included. */
function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs `work` inside `span` (spans and appends it makes are its children) and ends the span with it. */
function inSpan<T>(api: typeof OtelApi, span: OtelApi.Span, parent: OtelApi.Context, work: () => Promise<T>, done?: (ok: boolean) => void): Promise<T> {
  return endWhenSettled(api, span, run(() => api.context.with(api.trace.setSpan(parent, span), work)), done);
}

/** The `{ <label>: value, outcome }` attributes of a duration, made once per value (the SDK only reads them): this runs on every event. */
function outcomeAttributes(label: string): (value: string, ok: boolean) => OtelApi.Attributes {
  const made = new Map<string, { ok: OtelApi.Attributes; error: OtelApi.Attributes }>();
  return (value, ok) => {
    let pair = made.get(value);
    if (!pair) {
      // Bounded like the label itself (categories and runner names, never ids); reset past that rather than grow.
      if (made.size >= 10_000) made.clear();
      made.set(value, (pair = { ok: Object.freeze({ [label]: value, outcome: 'ok' }), error: Object.freeze({ [label]: value, outcome: 'error' }) }));
    }
    return ok ? pair.ok : pair.error;
  };
}
const appendAttributes = outcomeAttributes('category');
const handlerAttributes = outcomeAttributes('runner');

/** Links to the producers of a batch whose carriers (event metadata, message headers) hold a trace context. */
function linksOf(api: typeof OtelApi, carriers: EventMetadata[]): OtelApi.Link[] {
  const links: OtelApi.Link[] = [];
  for (const carrier of carriers) {
    const context = spanContextOf(api, carrier);
    if (context) links.push({ context });
  }
  return links;
}

/**
 * An append as an OpenTelemetry producer span (`send <category>`), with the span's context stamped
 * into every event's metadata as `traceparent`/`tracestate`, and the `factum_append_duration_seconds` metric. `append` gets the stamped events.
 */
export function tracedAppend<T>(streamId: string, events: NewEvent[], append: (events: NewEvent[]) => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return append(events);
  const category = typeof streamId === 'string' ? streamCategory(streamId) : 'invalid';
  const count = Array.isArray(events) ? events.length : 0;
  const started = performance.now();
  const parent = api.context.active();
  const span = tracer(api).startSpan(
    `send ${category}`,
    {
      kind: api.SpanKind.PRODUCER,
      attributes: { 'messaging.system': STORE_SYSTEM, 'messaging.operation.type': 'send', 'messaging.operation.name': 'append', 'messaging.destination.name': category, 'messaging.batch.message_count': count },
    },
    parent,
  );
  const context = span.spanContext();
  const stamped = api.isSpanContextValid(context) ? stampTraceContext(events, context) : events;
  // Not made the active span: its context travels in the events, and what the append runs of the
  // application's (validation, inline projections) traces as part of the caller's span. An
  // active span would turn the context manager's promise hooks on for every append.
  // Events are counted where they commit (countAppended), not here: a transaction may yet roll back.
  return endWhenSettled(api, span, run(() => append(stamped)), (ok) => instruments()!.appendDuration.record(secondsSince(started), appendAttributes(category, ok)));
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
export function tracedHandling<T>(runner: HandlingRunner, messages: HandledMessage | HandledMessage[], work: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return work();
  const started = performance.now();
  const attributes: OtelApi.Attributes = { 'messaging.system': runner.system, 'messaging.operation.type': 'process', 'messaging.consumer.group.name': runner.name };
  let parent: OtelApi.Context;
  let links: OtelApi.Link[] | undefined;
  if (Array.isArray(messages)) {
    links = linksOf(api, messages.map((m) => m.metadata));
    parent = api.context.active();
    attributes['messaging.batch.message_count'] = messages.length;
    if (runner.destination) attributes['messaging.destination.name'] = runner.destination;
  } else {
    const producer = spanContextOf(api, messages.metadata);
    parent = producer ? api.trace.setSpanContext(api.ROOT_CONTEXT, producer) : api.context.active();
    attributes['messaging.message.id'] = messages.id;
    attributes['messaging.destination.name'] = runner.destination ?? streamCategory(messages.streamId);
  }
  const span = tracer(api).startSpan(`process ${runner.name}`, { kind: api.SpanKind.CONSUMER, attributes, ...(links ? { links } : {}) }, parent);
  return inSpan(api, span, parent, work, (ok) => instruments()!.handlerDuration.record(secondsSince(started), handlerAttributes(runner.name, ok)));
}

/**
 * The relay's publish of one batch to a broker topic as a producer span (`send <topic>`), linked to
 * every event's producer (read from the messages' `headers`), and a child of their trace when the
 * whole batch belongs to one (a single command's events). The messages keep their events' own
 * `traceparent` in their headers, so a consumer's span continues the append's trace.
 */
export function tracedPublish<T>(system: string, topic: string, headers: EventMetadata[], publish: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return publish();
  const links = linksOf(api, headers);
  const oneTrace = links.length === headers.length && links.length > 0 && links.every((link) => link.context.traceId === links[0]!.context.traceId);
  const parent = oneTrace ? api.trace.setSpanContext(api.ROOT_CONTEXT, links[0]!.context) : api.context.active();
  const span = tracer(api).startSpan(
    `send ${topic}`,
    {
      kind: api.SpanKind.PRODUCER,
      links,
      attributes: { 'messaging.system': system, 'messaging.operation.type': 'send', 'messaging.operation.name': 'publish', 'messaging.destination.name': topic, 'messaging.batch.message_count': headers.length },
    },
    parent,
  );
  return inSpan(api, span, parent, publish);
}

/** Work of factum's own (handling a command, a saga's step) as an internal span, a child of the active context. */
export function tracedStep<T>(name: string, attributes: Record<string, string | number>, work: () => Promise<T>): Promise<T> {
  const api = otel;
  if (!api) return work();
  const parent = api.context.active();
  const span = tracer(api).startSpan(name, { kind: api.SpanKind.INTERNAL, attributes }, parent);
  return inSpan(api, span, parent, work);
}
