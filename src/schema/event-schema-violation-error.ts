import { FactumError, hasCode } from '../core/errors.js';

/** One failing place in an event's data. */
export interface SchemaIssue {
  /** Like `items[0].sku`; `(root)` for the data itself. */
  path: string;
  message: string;
}

/**
 * An appended event's data does not match its registered schema; nothing was written. Names the
 * event type, its schema version, and every failing path.
 *
 * @example
 * try { await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 1 } }]) }
 * catch (e) { if (isEventSchemaViolationError(e)) console.log(e.eventType, e.path) } // 'ItemAdded' 'sku'
 */
export class EventSchemaViolationError extends FactumError {
  readonly eventType: string;
  readonly schemaVersion: number;
  /** Position of the event in the append. */
  readonly index: number;
  /** The first failing path. */
  readonly path: string;
  readonly issues: SchemaIssue[];

  constructor(eventType: string, schemaVersion: number, index: number, issues: SchemaIssue[]) {
    const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super('EVENT_SCHEMA_VIOLATION', `Event #${index} (${eventType} v${schemaVersion}) does not match its schema: ${listed}`, {
      details: { eventType, schemaVersion, index, path: issues[0]?.path ?? '(root)', issues },
    });
    this.name = 'EventSchemaViolationError';
    this.eventType = eventType;
    this.schemaVersion = schemaVersion;
    this.index = index;
    this.path = issues[0]?.path ?? '(root)';
    this.issues = issues;
  }
}

/**
 * True when an append was refused because an event failed its schema (`EVENT_SCHEMA_VIOLATION`).
 *
 * @example
 * if (isEventSchemaViolationError(error)) respond(400, error.issues)
 */
export function isEventSchemaViolationError(error: unknown): error is EventSchemaViolationError {
  return hasCode(error, 'EVENT_SCHEMA_VIOLATION');
}
