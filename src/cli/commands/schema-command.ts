import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import { checkSchemaFile } from '../../schema/schema-snapshot-file.js';
import { action } from '../cli-command.js';
import { loadConfig } from '../load-config.js';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description("Check the config's event schemas against the committed snapshot (the BACKWARD rule); exit 1 when a change breaks it")
    .argument('[action]', 'check, or update (check, and write the snapshot when it passes)', 'check')
    .action(
      action<[string], object>(async ([verb], flags, out) => {
        if (verb !== 'check' && verb !== 'update') throw new FactumError('INVALID_ARGUMENT', `factum schema takes check or update, not "${verb}"`);
        const { config, dir } = (await loadConfig(flags.config, { required: 'factum schema' }))!;
        if (!config.registry) throw new FactumError('INVALID_ARGUMENT', 'The config module names no registry (registry: your EventRegistry)');
        const file = resolve(dir, config.schemaFile ?? 'events.schema.json');
        const report = await checkSchemaFile(file, config.registry, { update: verb === 'update' });
        out.result({ file, ...report }, () => {
          for (const problem of report.problems) out.line(`breaking: ${problem.message}`);
          for (const added of report.added) out.line(`new: ${added.eventType} v${added.version}`);
          out.line(report.compatible ? `Compatible with ${file}${report.written ? ' (snapshot written)' : ''}.` : `Not compatible with ${file}: declare a new version with an upcaster instead.`);
        });
        if (!report.compatible) process.exitCode = 1;
      }),
    );
}
