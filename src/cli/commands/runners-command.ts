import type { Command } from 'commander';
import { runnerOverview } from '../../consumers/runner-overview.js';
import { action } from '../cli-command.js';
import { table } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function runnersCommand(program: Command): void {
  program
    .command('runners')
    .description('Subscriptions, projection runners, relays and broker consumers: position, lag in events and seconds, dead letters')
    .action(
      action<[], object>(async (_args, flags, out) => {
        const runners = await withStore(flags, (store) => runnerOverview(store));
        out.result(runners, () => {
          if (runners.length === 0) return out.line('No runner has stored a checkpoint yet.');
          const rows = runners.map((r) => [
            r.name,
            r.kind,
            // A broker consumer has no position in the log: it says where it reads and who reported.
            r.kind === 'consumer' ? `${r.details?.system ?? '?'} ${r.details?.topic ?? '?'}/${r.details?.group ?? '?'}` : String(r.position),
            String(r.lagEvents),
            r.lagSeconds.toFixed(1),
            r.deadLetters ? `${r.deadLetters} (+${r.parked} parked)` : '',
            r.kind === 'consumer' ? `${r.updatedAt.toISOString()} ${r.state ?? ''} by ${r.reportedBy ?? '?'}` : r.updatedAt.toISOString(),
          ]);
          for (const line of table(['name', 'kind', 'position', 'lag', 'lag s', 'dead letters', 'checkpoint moved / reported'], rows)) out.line(line);
        });
      }),
    );
}
