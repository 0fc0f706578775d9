import { readFile, writeFile } from 'node:fs/promises';
import type { EventRegistry } from './event-registry.js';
import type { EventType } from './event-type.js';
import { checkCompatibility, type CompatibilityReport } from './check-compatibility.js';
import { parseSchemaSnapshot, schemaSnapshot } from './schema-snapshot.js';

/** Options of `checkSchemaFile`. */
export interface CheckSchemaFileOptions {
  /** Write the current schemas to the file when the check passes (the file is created if missing). */
  update?: boolean;
}

/**
 * The compatibility check against a snapshot file in the repository: what a CI step runs. A
 * missing file counts as empty (everything is new).
 *
 * @example
 * const report = await checkSchemaFile('events.schema.json', registry, { update: true })
 * if (!report.compatible) process.exit(1)
 */
export async function checkSchemaFile(
  path: string,
  current: EventRegistry | ReadonlyArray<EventType<string, any>>,
  options: CheckSchemaFileOptions = {},
): Promise<CompatibilityReport & { written: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const committed = text === undefined ? { factumSchemaSnapshot: 1 as const, eventTypes: {} } : parseSchemaSnapshot(JSON.parse(text));
  const now = schemaSnapshot(current);
  const report = checkCompatibility(committed, now);
  const next = JSON.stringify(now, null, 2) + '\n';
  const written = Boolean(options.update && report.compatible && next !== text);
  if (written) await writeFile(path, next);
  return { ...report, written };
}
