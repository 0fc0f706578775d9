import { benchEvents, newStreamId } from '../bench-event.js';
import type { BenchRow } from '../bench-row.js';
import { interleaved, timeOnce } from '../measure.js';
import type { BenchSystem } from '../systems/bench-system.js';
import { cannotRows, guarded, rowsFromSamples, type ScenarioContext } from './scenario.js';

/** Scenario 5: read `$all` from the start to the end, `pageSize` events per round trip. */
export async function readAll(ctx: ScenarioContext, scenario: string): Promise<BenchRow[]> {
  const { config } = ctx;
  const systems = ctx.systems.filter((s) => !s.cannot.readAll);
  for (const system of systems) {
    await system.reset();
    const started = Date.now();
    for (let written = 0; written < config.readAllEvents; written += config.readAllAppendSize) {
      const id = newStreamId('all');
      await system.appendNew(id, benchEvents(id, 1, Math.min(config.readAllAppendSize, config.readAllEvents - written)));
      // PGlite has no autovacuum: without fresh statistics factum's append keeps a plan made for
      // an empty table (a sequential scan per append, see the report) and this unmeasured setup
      // alone took 6 minutes. Every system gets the same ANALYZE, as a server's autovacuum would do.
      if (system.backend === 'pglite' && (written / config.readAllAppendSize) % 20 === 19) await system.analyze?.();
    }
    ctx.log(`  ${system.label}: wrote ${config.readAllEvents} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const failures = new Map<BenchSystem, string>();
  const samples = await interleaved(
    systems,
    config.readAllRounds,
    guarded(failures, 0, async (system, _round, warmUp) => {
      // The warm-up is a full read too: the first read after a load sets hint bits and fills caches.
      const { seconds, result: count } = await timeOnce(() => system.readAll(config.pageSize));
      if (count !== config.readAllEvents) throw new Error(`read ${count} events instead of ${config.readAllEvents}`);
      if (!warmUp) ctx.log(`  ${system.label}: ${Math.round(count / seconds)} events/s`);
      return count / seconds;
    }),
    config.readAllBudgetSeconds,
  );
  return [...rowsFromSamples(scenario, 'events/s', samples, failures), ...cannotRows(scenario, 'events/s', ctx.systems, 'readAll')];
}
