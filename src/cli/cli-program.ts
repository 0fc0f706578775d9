import { Command } from 'commander';
import { allCommand } from './commands/all-command.js';
import { archiveCommand } from './commands/archive-command.js';
import { dashboardCommand } from './commands/dashboard-command.js';
import { deadLettersCommand } from './commands/dead-letters-command.js';
import { eventCommand } from './commands/event-command.js';
import { exportCommand } from './commands/export-command.js';
import { importCommand } from './commands/import-command.js';
import { migrationsCommand } from './commands/migrations-command.js';
import { projectionsCommand } from './commands/projections-command.js';
import { readCommand } from './commands/read-command.js';
import { restoreCommand } from './commands/restore-command.js';
import { runnersCommand } from './commands/runners-command.js';
import { sagasCommand } from './commands/sagas-command.js';
import { schemaCommand } from './commands/schema-command.js';
import { serveCommand } from './commands/serve-command.js';
import { streamsCommand } from './commands/streams-command.js';

/** The `factum` program: global options, then one command per operator task. */
export function cliProgram(version: string): Command {
  const program = new Command('factum')
    .description('Operate a factum event store: streams, $all, events and their causes, runners and their lag, dead letters, migrations, export and import, archive and restore, the dashboard and a /metrics endpoint')
    .version(version)
    .option('--db <location>', 'a postgres:// URL or an embedded store directory (default: $FACTUM_DATABASE_URL)')
    .option('--schema <name>', 'the database schema of the store (default: factum)')
    .option('--config <file>', 'the config module naming projections and the registry (default: ./factum.config.{ts,mts,js,mjs})')
    .option('--json', 'print the result as JSON, for scripts')
    .showHelpAfterError()
    .exitOverride();
  for (const add of [streamsCommand, readCommand, allCommand, eventCommand, runnersCommand, deadLettersCommand, projectionsCommand, sagasCommand, schemaCommand, migrationsCommand, exportCommand, importCommand, archiveCommand, restoreCommand, dashboardCommand, serveCommand]) add(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}
