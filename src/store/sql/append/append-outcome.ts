import type { AppendResult } from '../../../core/message.js';
import type { PreparedEvent } from '../../../core/validation.js';

/** What `append_events` answers, parsed: the append's result and when it was recorded (epoch ms). */
export interface AppendOutcome {
  result: AppendResult;
  recordedAt: number;
}

/** Parses "<already 0|1> <last version> <recorded at, epoch ms> <position>,<position>,..." (see the migration). */
export function parseOutcome(text: string): AppendOutcome {
  const afterVersion = text.indexOf(' ', 2);
  const afterTime = text.indexOf(' ', afterVersion + 1);
  const list = text.slice(afterTime + 1);
  const positions = list.includes(',') ? list.split(',').map(BigInt) : [BigInt(list)];
  return {
    result: { nextExpectedVersion: Number(text.slice(2, afterVersion)), lastPosition: positions[positions.length - 1]!, positions, alreadyAppended: text[0] === '1' },
    recordedAt: Number(text.slice(afterVersion + 1, afterTime)),
  };
}

/** An append's SQL and its parameters. */
export interface AppendStatement {
  sql: string;
  params: unknown[];
}

/**
 * An event's fields as the append statements take them in JSON (`"i"` id, `"t"` type, `"d"`
 * data, `"m"` metadata, `"v"` schema version), without braces. Data and metadata are already
 * JSON (serialised once, when validated), so this only joins strings.
 */
export function eventJsonFields(e: PreparedEvent): string {
  return `"i":"${e.id}","t":${JSON.stringify(e.type)},"d":${e.dataJson},"m":${e.metadataJson},"v":${e.schemaVersion}`;
}
