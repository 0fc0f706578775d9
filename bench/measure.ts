/**
 * Timing: fixed-duration rounds with N concurrent writers, systems interleaved round by round
 * so that drift of the machine (other tenants, autovacuum, page cache) hits every system alike.
 */

/** Monotonic nanoseconds as a number of seconds since an arbitrary origin. */
export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** What one timed run did. */
export interface RunResult {
  /** Events written or read. */
  events: number;
  /** Operations (appends, loads) done. */
  ops: number;
  seconds: number;
  /** Latency of each operation, in milliseconds (only when asked for). */
  latenciesMs?: number[];
  /** Counters the operation chose to report (conflicts, ...). */
  counters: Record<string, number>;
}

/**
 * Runs `op` in a loop on `writers` concurrent workers until `durationMs` has passed. `op`
 * returns how many events it handled and may bump counters. The clock stops when the last
 * worker finishes its last operation, so no operation is counted without its time.
 */
export async function runFor(
  writers: number,
  durationMs: number,
  op: (writer: number, counters: Record<string, number>) => Promise<number>,
  options: { latencies?: boolean } = {},
): Promise<RunResult> {
  const counters: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let events = 0;
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(durationMs * 1e6));
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (process.hrtime.bigint() < deadline) {
        const t0 = process.hrtime.bigint();
        // Not `events += await op()`: that reads `events` before the await and loses other workers' counts.
        const handled = await op(writer, counters);
        events += handled;
        ops++;
        if (options.latencies) latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { events, ops, seconds, counters, ...(options.latencies ? { latenciesMs } : {}) };
}

/** Times one call. */
export async function timeOnce<T>(fn: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, result };
}

/**
 * Runs `measure` for every system, `rounds` times, rotating the order each round (A B C, B C A,
 * C A B...), after one unrecorded warm-up call per system. Returns the samples per system.
 * A system that has used up `budgetSeconds` (warm-up included) is measured no more after its
 * first round: a peer that takes half a minute per read must not eat the whole run.
 */
export async function interleaved<S extends { label: string }, R>(
  systems: S[],
  rounds: number,
  measure: (system: S, round: number, warmUp: boolean) => Promise<R>,
  budgetSeconds = Infinity,
): Promise<Map<S, R[]>> {
  const results = new Map<S, R[]>(systems.map((s) => [s, []]));
  const spent = new Map<S, number>(systems.map((s) => [s, 0]));
  const timed = async (system: S, round: number, warmUp: boolean) => {
    const start = nowSeconds();
    const result = await measure(system, round, warmUp);
    spent.set(system, spent.get(system)! + nowSeconds() - start);
    return result;
  };
  for (const system of systems) await timed(system, -1, true);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + round) % systems.length]!;
      if (round > 0 && spent.get(system)! > budgetSeconds) continue;
      results.get(system)!.push(await timed(system, round, false));
    }
  }
  return results;
}

/** Samples the process's resident set size every few milliseconds; `stop()` returns the peak in MiB. */
export function peakMemory(everyMs = 50): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    if (rss > peak) peak = rss;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage().rss;
      return Math.round((rss > peak ? rss : peak) / 2 ** 20);
    },
  };
}

/** The p-th percentile (0..100) of a list, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
