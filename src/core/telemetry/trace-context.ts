import type { EventMetadata, NewEvent } from '../message.js';
import type { OtelApi } from './otel-api.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '0'.repeat(32);
const INVALID_SPAN = '0'.repeat(16);

/**
 * The W3C trace context an event carries in its metadata (`traceparent`, `tracestate`), as a
 * remote span context; undefined when it has none or a malformed one. Parsed here rather than by
 * the application's propagator, so the chain holds whatever propagators it registered.
 */
export function spanContextOf(api: typeof OtelApi, metadata: EventMetadata): OtelApi.SpanContext | undefined {
  const header = metadata.traceparent;
  if (typeof header !== 'string') return undefined;
  const match = TRACEPARENT.exec(header);
  if (!match || match[1] === INVALID_TRACE || match[2] === INVALID_SPAN) return undefined;
  const state = metadata.tracestate;
  return {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
    ...(typeof state === 'string' && state ? { traceState: api.createTraceState(state) } : {}),
  };
}

/** The `traceparent` of a span context: version 00, trace id, span id, flags. */
export function traceparentOf(context: OtelApi.SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The events with the span's context in their metadata, so every later hop (subscriptions, the
 * relay, broker headers, consumers in other services) continues the trace. An event that already
 * carries a `traceparent` keeps it: the caller chose its context.
 */
export function stampTraceContext(events: NewEvent[], context: OtelApi.SpanContext): NewEvent[] {
  const traceparent = traceparentOf(context);
  const tracestate = context.traceState?.serialize();
  // Malformed input passes through untouched: validation refuses it next, with its typed error.
  if (!Array.isArray(events)) return events;
  return events.map((event) => {
    if (typeof event !== 'object' || event === null) return event;
    const metadata: unknown = event.metadata ?? {};
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || typeof (metadata as EventMetadata).traceparent === 'string') return event;
    const stamped: EventMetadata = { ...(metadata as EventMetadata), traceparent };
    if (tracestate) stamped.tracestate = tracestate;
    return { ...event, metadata: stamped };
  });
}
