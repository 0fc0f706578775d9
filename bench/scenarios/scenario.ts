import type { BenchConfig } from '../bench-config.js';
import { measuredRow, type BenchRow } from '../bench-row.js';
import type { BenchSystem, Capability } from '../systems/bench-system.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  config: BenchConfig;
  /** Every system that could be opened, PostgreSQL and PGlite alike. */
  systems: BenchSystem[];
  log(message: string): void;
}

/** Rows for the systems that lack `capability`, with their reason, so that none is silently left out. */
export function cannotRows(scenario: string, unit: string, systems: BenchSystem[], capability: Capability): BenchRow[] {
  return systems
    .filter((s) => s.cannot[capability])
    .map((s) => ({ scenario, backend: s.backend, system: s.name, unit, note: `cannot: ${s.cannot[capability]}` }));
}

/** Rows from samples per system; a system whose measurement threw gets a row saying so. */
export function rowsFromSamples(
  scenario: string,
  unit: string,
  samples: Map<BenchSystem, number[]>,
  failures: Map<BenchSystem, string>,
  extra: (system: BenchSystem) => BenchRow['extra'] = () => undefined,
): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [system, values] of samples) {
    const failed = failures.get(system);
    if (failed) rows.push({ scenario, backend: system.backend, system: system.name, unit, note: `failed: ${failed}` });
    else {
      const more = extra(system);
      rows.push(measuredRow({ scenario, backend: system.backend, system: system.name, unit, ...(more ? { extra: more } : {}) }, values));
    }
  }
  return rows;
}

/** Wraps a measurement so that one failing system is reported instead of ending the run. */
export function guarded<T>(failures: Map<BenchSystem, string>, fallback: T, fn: (system: BenchSystem, round: number, warmUp: boolean) => Promise<T>) {
  return async (system: BenchSystem, round: number, warmUp: boolean): Promise<T> => {
    if (failures.has(system)) return fallback;
    try {
      return await fn(system, round, warmUp);
    } catch (error) {
      failures.set(system, (error as Error).message.split('\n')[0]!.slice(0, 160));
      return fallback;
    }
  };
}
