import type { Command } from 'commander';
import { runnerOverview } from '../../consumers/runner-overview.js';
import { FactumError } from '../../core/errors.js';
import { rebuildProjection } from '../../projections/rebuild.js';
import { action, integer } from '../cli-command.js';
import { progressBar } from '../cli-progress-bar.js';
import { table } from '../cli-output.js';
import { withStore } from '../cli-store.js';
import type { FactumConfig } from '../factum-config.js';
import { loadConfig } from '../load-config.js';

export function projectionsCommand(program: Command): void {
  const projections = program.command('projections').description("The config module's projections: where each stands, and rebuilds");
  projections
    .command('list', { isDefault: true })
    .description('Every projection of the config, with its checkpoint and lag (inline projections have none: they are current with every append)')
    .action(
      action<[], object>(async (_args, flags, out) => {
        const { config } = (await loadConfig(flags.config, { required: 'factum projections' }))!;
        const runners = await withStore(flags, (store) => runnerOverview(store));
        const rows = [
          ...(config.projections ?? []).map((p) => {
            const runner = runners.find((r) => r.name === p.name);
            return { name: p.name, mode: 'async' as const, eventTypes: p.eventTypes, ...(runner ? { position: runner.position, lagEvents: runner.lagEvents, lagSeconds: runner.lagSeconds, deadLetters: runner.deadLetters } : {}) };
          }),
          ...(config.inlineProjections ?? []).map((p) => ({ name: p.name, mode: 'inline' as const, eventTypes: p.eventTypes })),
        ];
        out.result(rows, () => {
          const cells = rows.map((r) => [r.name, r.mode, 'position' in r ? String(r.position) : r.mode === 'inline' ? '-' : 'not started', 'lagEvents' in r ? String(r.lagEvents) : '', r.eventTypes.join(',')]);
          for (const line of table(['projection', 'mode', 'position', 'lag', 'events'], cells)) out.line(line);
        });
      }),
    );
  projections
    .command('rebuild')
    .description('Rebuild a read model from the log while the old one keeps serving, then swap it in (resumes after a crash or Ctrl-C)')
    .argument('<name>', 'the projection')
    .option('--batch-size <count>', 'events per transaction', integer('--batch-size'), 1000)
    .action(
      action<[string], { batchSize: number }>(async ([name], flags, out) => {
        const { config } = (await loadConfig(flags.config, { required: 'factum projections rebuild' }))!;
        const { projection, inline } = find(config, name);
        const abort = new AbortController();
        const interrupt = () => abort.abort();
        process.once('SIGINT', interrupt);
        try {
          const result = await withStore(flags, async (store) => {
            let bar: ReturnType<typeof progressBar> | undefined;
            try {
              return await rebuildProjection(store, projection, {
                batchSize: flags.batchSize,
                inline,
                signal: abort.signal,
                onProgress: (p) => {
                  bar ??= progressBar(`rebuild ${name}`, Number(p.headPosition - p.resumedFrom));
                  bar.update(Number(p.position - p.resumedFrom), { events: p.eventsDone });
                },
              });
            } finally {
              bar?.stop();
            }
          });
          out.result(result, () =>
            out.line(
              result.swapped
                ? `Rebuilt ${name}: ${result.eventsDone} events replayed${result.resumedFrom > 0n ? ` (resumed from position ${result.resumedFrom})` : ''}, swapped in at position ${result.position}.`
                : `Stopped at position ${result.position} before the swap: run it again to resume.`,
            ),
          );
        } finally {
          process.off('SIGINT', interrupt);
        }
      }),
    );
}

function find(config: FactumConfig, name: string) {
  const projection = config.projections?.find((p) => p.name === name);
  if (projection) return { projection, inline: false };
  const inline = config.inlineProjections?.find((p) => p.name === name);
  if (inline) return { projection: inline, inline: true };
  const known = [...(config.projections ?? []), ...(config.inlineProjections ?? [])].map((p) => p.name);
  throw new FactumError('NOT_FOUND', `No projection "${name}" in the config (it has: ${known.join(', ') || 'none'})`, { details: { name, known } });
}
