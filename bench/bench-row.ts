/**
 * One line of the benchmark table. Every scenario (and `bench/snapshots.ts`) reports in this
 * shape, so the runner can print, compare and store all of them alike.
 */
export interface BenchRow {
  /** Scenario label, e.g. `1. single-event appends, 16 writers`. Rows with one label form a group. */
  scenario: string;
  /** Where it ran. */
  backend: 'postgres' | 'pglite';
  /** `factum`, `raw`, `emmett`, `castore`, or a variant such as `factum (10,000-event appends)`. */
  system: string;
  /** Unit of `median` and `samples`; throughputs are higher-is-better. */
  unit: string;
  /** Median over the measured rounds; absent when the system could not run the scenario. */
  median?: number;
  /** One value per measured round, in round order. */
  samples?: number[];
  /** (max - min) / median over the rounds: how much the rounds disagree. */
  spread?: number;
  /** median / the raw driver's median in the same group (same scenario and backend), when known. */
  ratioToRaw?: number;
  /** Secondary figures (latency, conflict rate, peak memory, ...), printed in the notes column. */
  extra?: Record<string, string | number>;
  /** Why there is no figure, or what path was measured. */
  note?: string;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A measured row from its round samples. */
export function measuredRow(base: Omit<BenchRow, 'median' | 'samples' | 'spread'>, samples: number[]): BenchRow {
  const m = median(samples);
  const spread = samples.length > 1 && m > 0 ? (Math.max(...samples) - Math.min(...samples)) / m : 0;
  return { ...base, median: m, samples, spread };
}

/** Fills `ratioToRaw` for every measured row whose group has a measured `raw` row. */
export function addRatios(rows: BenchRow[]): void {
  for (const row of rows) {
    if (row.median === undefined || row.ratioToRaw !== undefined) continue;
    const raw = rows.find((r) => r.scenario === row.scenario && r.backend === row.backend && r.system === 'raw' && r.median !== undefined);
    if (raw && raw.median! > 0) row.ratioToRaw = row.median / raw.median!;
  }
}
