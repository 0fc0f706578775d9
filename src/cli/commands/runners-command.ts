import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { runnerOverview, type RunnerOverview } from '../../consumers/runner-overview.js';
import type { EventStore } from '../../core/event-store.js';
import type { BoundReport } from '../../observability/consistency-bound.js';
import { StoreRunnerMetrics } from '../../observability/store-runner-metrics.js';
import { action, integer } from '../cli-command.js';
import { table } from '../cli-output.js';
import { withStore } from '../cli-store.js';
import type { FactumConfig } from '../factum-config.js';
import { loadConfig } from '../load-config.js';

/** A runner as `factum runners` prints it: the overview, and when judged, its state over the window (`boundState`) and bound. */
type JudgedRunner = RunnerOverview & Partial<Pick<BoundReport, 'breached' | 'bound' | 'etaSeconds'>> & { boundState?: BoundReport['state'] };

export function runnersCommand(program: Command): void {
  program
    .command('runners')
    .description('Subscriptions, projection runners, relays and broker consumers: position, lag in events and seconds, dead letters, and (judged over a few seconds) their state and bound')
    .option(
      '--judge <seconds>',
      "read the runners twice, this far apart, and judge each one's state (ok, lagging, stalled, stopped) and the config's bound; 2 by default when the config names bounds, 0 for a single read",
      integer('--judge'),
    )
    .action(
      action<[], { judge?: number }>(async (_args, flags, out) => {
        const config = (await loadConfig(flags.config))?.config;
        const seconds = flags.judge ?? (config?.bounds ? 2 : 0);
        const runners = await withStore(flags, (store) => (seconds > 0 ? judgedRunners(store, config, seconds) : runnerOverview(store)));
        out.result(runners, () => {
          if (runners.length === 0) return out.line('No runner has stored a checkpoint yet.');
          const judged = seconds > 0;
          const rows = (runners as JudgedRunner[]).map((r) => [
            r.name,
            r.kind,
            // A broker consumer has no position in the log: it says where it reads and who reported.
            r.kind === 'consumer' ? `${r.details?.system ?? '?'} ${r.details?.topic ?? '?'}/${r.details?.group ?? '?'}` : String(r.position),
            String(r.lagEvents),
            r.lagSeconds.toFixed(1),
            ...(judged ? [boundCell(r)] : []),
            r.deadLetters ? `${r.deadLetters} (+${r.parked} parked)` : '',
            r.kind === 'consumer' ? `${r.updatedAt.toISOString()} ${r.state ?? ''} by ${r.reportedBy ?? '?'}` : r.updatedAt.toISOString(),
          ]);
          const headers = ['name', 'kind', 'position', 'lag', 'lag s', ...(judged ? [`state (${seconds} s)`] : []), 'dead letters', 'checkpoint moved / reported'];
          for (const line of table(headers, rows)) out.line(line);
        });
      }),
    );
}

/**
 * The overview read twice, `seconds` apart, through the same monitor `factum serve` runs: each
 * runner's state over that window, and its bound from the config. From tables, a runner that is
 * not running shows as stalled (only its process can say stopped); a broker consumer silent for
 * 30 s shows as stopped.
 */
async function judgedRunners(store: EventStore, config: FactumConfig | undefined, seconds: number): Promise<JudgedRunner[]> {
  const metrics = new StoreRunnerMetrics(store, {
    ...(config?.bounds ? { bounds: config.bounds } : {}),
    projections: [...(config?.projections ?? []), ...(config?.inlineProjections ?? [])].map((p) => p.name),
    windowMs: seconds * 1000 + 1000,
  });
  try {
    await metrics.refresh();
    await sleep(seconds * 1000);
    await metrics.refresh();
    const reports = new Map(metrics.reports().map((r) => [r.name, r]));
    return (await runnerOverview(store)).map((runner) => {
      const report = reports.get(runner.name);
      if (!report) return runner;
      const judged: JudgedRunner = { ...runner, boundState: report.state, breached: report.breached, bound: report.bound };
      return report.etaSeconds === undefined ? judged : { ...judged, etaSeconds: report.etaSeconds };
    });
  } finally {
    await metrics.stop();
  }
}

function boundCell(runner: JudgedRunner): string {
  if (runner.boundState === undefined) return '';
  const { seconds, events } = runner.bound ?? {};
  const limits = [seconds !== undefined ? `${seconds} s` : '', events !== undefined ? `${events} events` : ''].filter(Boolean).join(', ');
  return `${runner.boundState}${limits ? ` (bound ${limits}: ${runner.breached ? 'BREACHED' : 'within'})` : ''}`;
}
