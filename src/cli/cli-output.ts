import type { RecordedEvent } from '../core/message.js';

/**
 * Where a command writes: lines for people on stdout, or (with `--json`) one JSON document, so
 * that a script reads stdout whole. Progress and warnings go to stderr, never into the JSON.
 */
export interface CliOutput {
  readonly json: boolean;
  /** A line for people (ignored with `--json`). */
  line(text?: string): void;
  /** The command's result: printed as JSON with `--json`, else by `human`. */
  result(value: unknown, human: () => void): void;
  /** A note on stderr (a warning, a summary of long work). */
  note(text: string): void;
}

export function cliOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): CliOutput {
  return {
    json,
    line: (text = '') => {
      if (!json) stdout.write(`${text}\n`);
    },
    result: (value, human) => (json ? stdout.write(`${toJson(value)}\n`) : human()),
    note: (text) => stderr.write(`${text}\n`),
  };
}

/** JSON with bigints as strings (positions exceed 2^53 in long-lived logs) and dates in ISO 8601. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** One event on one line: position, stream@version, type, time. */
export function eventLine(event: RecordedEvent): string {
  return `${String(event.globalPosition).padStart(8)}  ${event.streamId}@${event.streamVersion}  ${event.type}  ${event.recordedAt.toISOString()}`;
}

/** An event's data and metadata, indented under its line. */
export function eventDetails(event: RecordedEvent): string[] {
  const lines = [`  id        ${event.id} (schema version ${event.schemaVersion})`, `  data      ${toJson(event.data)}`];
  if (Object.keys(event.metadata).length > 0) lines.push(`  metadata  ${toJson(event.metadata)}`);
  return lines;
}

/** Rows as aligned columns. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [format(header), ...rows.map(format)];
}
