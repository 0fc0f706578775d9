import type * as OtelApi from '@opentelemetry/api';

export type { OtelApi };

/**
 * `@opentelemetry/api`, loaded once, or undefined when the application has not installed it: it
 * is an optional peer dependency, so factum neither forces it nor an SDK on anyone. Without it
 * every hook runs the work and nothing else; with it but no SDK registered, the API's no-op
 * tracer and meter make the hooks nearly free. Every copy of the API shares one global
 * registry, so the application's SDK is found whichever copy it registered through.
 */
export const otel: typeof OtelApi | undefined = await import('@opentelemetry/api').catch(() => undefined);
