import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import { restoreArchive } from '../../store/archive/restore-archive.js';
import { action, integer } from '../cli-command.js';
import { progressBar, type ProgressBar } from '../cli-progress-bar.js';
import { withStore } from '../cli-store.js';

interface RestoreFlags {
  copy?: boolean;
  from?: string;
  fromSchema?: string;
  batchSize?: number;
}

export function restoreCommand(program: Command): void {
  program
    .command('restore')
    .description(
      'Read an archive back, checking every segment\'s sha256 first (a corrupted segment is refused, named, and nothing is written). By default the events return in place, to the store they were archived from; with --copy they go into the store given by --db (a fresh one), and with --from the live log of the store they came from is copied too, for a full copy',
    )
    .argument('<directory>', 'the archive directory')
    .option('--copy', 'write into another store (--db) instead of returning the events in place')
    .option('--from <location>', 'with --copy: the store the archive was taken from (a postgres:// URL or embedded directory); its live events are copied too')
    .option('--from-schema <name>', 'the schema of the --from store (default: --schema)')
    .option('--batch-size <count>', 'live events copied per transaction', integer('--batch-size'), 10_000)
    .action(
      action<[string], RestoreFlags>(async ([directory], flags, out) => {
        if (flags.from && !flags.copy) throw new FactumError('INVALID_ARGUMENT', '--from is for --copy (a full copy into another store)');
        const started = Date.now();
        let bar: ProgressBar = { update: () => {}, stop: () => {} };
        let phase = '';
        const run = (target: Parameters<typeof restoreArchive>[0], live?: Parameters<typeof restoreArchive>[0]) =>
          restoreArchive(target, {
            directory,
            mode: flags.copy ? 'copy' : 'in-place',
            batchSize: flags.batchSize ?? 10_000,
            ...(live ? { live } : {}),
            onProgress: (p) => {
              if (p.phase !== phase) {
                bar.stop();
                bar = progressBar(`restore: ${p.phase}`, p.phase === 'checking' ? 0 : p.total);
                phase = p.phase;
              }
              bar.update(p.events, { events: p.events });
            },
          });
        const result = await withStore(
          flags,
          (target) => (flags.from ? withStore({ ...flags, db: flags.from, ...(flags.fromSchema ? { schema: flags.fromSchema } : {}) }, (live) => run(target, live)) : run(target)),
          // A copy goes into a new store: create and migrate it as `factum import` does.
          flags.copy ? { create: true, migrate: true } : {},
        ).finally(() => bar.stop());
        const seconds = (Date.now() - started) / 1000;
        out.result({ directory, mode: flags.copy ? 'copy' : 'in-place', ...result, seconds }, () =>
          out.line(
            `Restored ${result.events} archived events from ${result.segments} segments (${result.written} written, the others were there already)` +
              `${flags.from ? ` and copied ${result.liveEvents} live events` : ''} in ${seconds.toFixed(1)} s.`,
          ),
        );
      }),
    );
}
