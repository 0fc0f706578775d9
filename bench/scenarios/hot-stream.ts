import { benchEvent, benchEvents, newStreamId } from '../bench-event.js';
import { median, type BenchRow } from '../bench-row.js';
import { interleaved, runFor } from '../measure.js';
import type { BenchSystem } from '../systems/bench-system.js';
import { cannotRows, guarded, rowsFromSamples, type ScenarioContext } from './scenario.js';

/**
 * Scenario 3: `writers` writers append one event at a time to one hot stream, each with the
 * version it last saw as the expected version. On a conflict a writer reads the events it
 * missed (as a command handler must before deciding again) and retries.
 * Throughput counts successful appends; the conflict rate is conflicts / attempts.
 */
export async function hotStream(ctx: ScenarioContext, scenario: string, writers: number): Promise<BenchRow[]> {
  const { config } = ctx;
  const systems = ctx.systems.filter((s) => !s.cannot.appendExpected);
  for (const system of systems) await system.reset();
  const failures = new Map<BenchSystem, string>();
  const conflictRates = new Map<BenchSystem, number[]>(systems.map((s) => [s, []]));
  const samples = await interleaved(
    systems,
    config.rounds,
    guarded(failures, 0, async (system, _round, warmUp) => {
      // A fresh hot stream per round, so every system's stream has the same length.
      const stream = newStreamId('hot');
      await system.appendNew(stream, benchEvents(stream, 1, 1));
      const known = Array.from({ length: writers }, () => 1);
      const run = await runFor(writers, warmUp ? config.warmUpMs : config.roundMs, async (writer, counters) => {
        const result = await system.appendExpected(stream, benchEvent(stream, known[writer]! + 1), known[writer]!);
        if (result.ok) {
          known[writer] = result.version;
          return 1;
        }
        counters.conflicts = (counters.conflicts ?? 0) + 1;
        known[writer] = await system.catchUp(stream, known[writer]!);
        return 0;
      });
      const conflicts = run.counters.conflicts ?? 0;
      if (!warmUp) {
        conflictRates.get(system)!.push(conflicts / (conflicts + run.events));
        ctx.log(`  ${system.label}: ${Math.round(run.events / run.seconds)} appends/s, ${conflicts} conflicts`);
      }
      return run.events / run.seconds;
    }),
  );
  return [
    ...rowsFromSamples(scenario, 'events/s', samples, failures, (s) => {
      const rates = conflictRates.get(s)!;
      return rates.length ? { 'conflict rate': `${(median(rates) * 100).toFixed(1)}%` } : undefined;
    }),
    ...cannotRows(scenario, 'events/s', ctx.systems, 'appendExpected'),
  ];
}
