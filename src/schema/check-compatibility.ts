import { FactumError } from '../core/errors.js';
import type { EventRegistry } from './event-registry.js';
import type { EventType } from './event-type.js';
import { breakingChanges, type BreakingRule } from './json-schema-changes.js';
import { schemaSnapshot, type SchemaSnapshot } from './schema-snapshot.js';

/** One reason the code cannot read events written under the committed schemas. */
export interface CompatibilityProblem {
  eventType: string;
  /** The schema version whose meaning changed (or disappeared). */
  version: number;
  rule: BreakingRule | 'removed-version' | 'removed-event-type';
  /** Inside the event's data; `(root)` for the data itself. */
  path: string;
  message: string;
}

/** The outcome of `checkCompatibility`. */
export interface CompatibilityReport {
  compatible: boolean;
  problems: CompatibilityProblem[];
  /** Versions and types that are new since the snapshot (fine: commit the new snapshot). */
  added: Array<{ eventType: string; version: number }>;
}

/**
 * The BACKWARD rule of a schema registry, applied to event types: every version in the
 * committed snapshot must still be declared with a schema that accepts what it accepted.
 * Changing a shape therefore means declaring a new version with an upcaster; editing an
 * existing version in place (removing or renaming a required field, changing a type, adding a
 * required field without a default) is reported.
 *
 * @example
 * const committed = parseSchemaSnapshot(JSON.parse(await readFile('events.schema.json', 'utf8')))
 * const report = checkCompatibility(committed, registry)
 * if (!report.compatible) for (const p of report.problems) console.error(p.message)
 */
export function checkCompatibility(committed: SchemaSnapshot, current: EventRegistry | ReadonlyArray<EventType<string, any>> | SchemaSnapshot): CompatibilityReport {
  const now = 'factumSchemaSnapshot' in current ? current : schemaSnapshot(current);
  const problems: CompatibilityProblem[] = [];
  const added: CompatibilityReport['added'] = [];
  for (const [eventType, versions] of Object.entries(committed.eventTypes)) {
    const currentVersions = now.eventTypes[eventType];
    const latest = Math.max(...Object.keys(versions).map(Number));
    if (!currentVersions) {
      problems.push({ eventType, version: latest, rule: 'removed-event-type', path: '(root)', message: `${eventType}: the event type was removed, but the log may hold events of it` });
      continue;
    }
    for (const [key, before] of Object.entries(versions)) {
      const version = Number(key);
      const after = currentVersions[key];
      if (!after) {
        problems.push({ eventType, version, rule: 'removed-version', path: '(root)', message: `${eventType} v${version}: the version was removed, but the log may hold events of it` });
        continue;
      }
      for (const change of breakingChanges(before, after)) {
        problems.push({
          eventType,
          version,
          ...change,
          message: `${eventType} v${version}: ${change.message}; keep v${version} as it was and declare v${Number(Object.keys(currentVersions).length) + 1} with an upcaster`,
        });
      }
    }
  }
  for (const [eventType, versions] of Object.entries(now.eventTypes)) {
    for (const key of Object.keys(versions)) if (!committed.eventTypes[eventType]?.[key]) added.push({ eventType, version: Number(key) });
  }
  return { compatible: problems.length === 0, problems, added };
}

/**
 * Like `checkCompatibility`, but throws `SCHEMA_INCOMPATIBLE` listing every problem.
 *
 * @example
 * assertCompatible(committed, registry) // in a test or a CI step
 */
export function assertCompatible(committed: SchemaSnapshot, current: EventRegistry | ReadonlyArray<EventType<string, any>>): CompatibilityReport {
  const report = checkCompatibility(committed, current);
  if (!report.compatible) {
    throw new FactumError('SCHEMA_INCOMPATIBLE', `Event schemas changed incompatibly:\n${report.problems.map((p) => `  - ${p.message}`).join('\n')}`, {
      details: { problems: report.problems },
    });
  }
  return report;
}
