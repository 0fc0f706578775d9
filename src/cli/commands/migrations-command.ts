import type { Command } from 'commander';
import { applyMigrations, storeMigrations } from '../../store/store-migrations.js';
import { action } from '../cli-command.js';
import { table } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function migrationsCommand(program: Command): void {
  const migrations = program.command('migrations').description("The store's schema migrations");
  migrations
    .command('status', { isDefault: true })
    .description('Every migration this version of factum knows, applied or pending')
    .action(
      action<[], object>(async (_args, flags, out) => {
        const states = await withStore(flags, (store) => storeMigrations(store), { skipCheck: true });
        out.result(states, () => {
          for (const line of table(['version', 'name', 'applied'], states.map((m) => [String(m.version), m.name, m.appliedAt?.toISOString() ?? 'pending']))) out.line(line);
          const pending = states.filter((m) => !m.appliedAt).length;
          out.line(pending === 0 ? 'The schema is current.' : `${pending} pending: run \`factum migrations apply\`.`);
        });
      }),
    );
  migrations
    .command('apply')
    .description('Apply the pending migrations (in one transaction; creates an embedded directory that does not exist)')
    .action(
      action<[], object>(async (_args, flags, out) => {
        const applied = await withStore(flags, (store) => applyMigrations(store), { create: true, skipCheck: true });
        out.result({ applied }, () => out.line(applied.length === 0 ? 'Nothing to apply: the schema is current.' : `Applied migrations ${applied.join(', ')}.`));
      }),
    );
}
