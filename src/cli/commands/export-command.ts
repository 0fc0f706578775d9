import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { Writable } from 'node:stream';
import { action, list, position } from '../cli-command.js';
import { progressBar } from '../cli-progress-bar.js';
import { toJson } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('Write $all (or part of it) as JSON lines, one event per line, in global order; `factum import` reads them back')
    .option('-o, --out <file>', 'the file to write (stdout when absent)')
    .option('--after <position>', 'start after this global position', position('--after'))
    .option('-t, --types <types>', 'only these event types (comma-separated)', list)
    .option('-c, --categories <categories>', 'only streams of these categories (comma-separated)', list)
    .action(
      action<[], { out?: string; after?: bigint; types?: string[]; categories?: string[] }>(async (_args, flags, out) => {
        const target: Writable = flags.out ? createWriteStream(flags.out) : process.stdout;
        const started = Date.now();
        let count = 0;
        let last = flags.after ?? 0n;
        await withStore(flags, async (store) => {
          const head = await store.headPosition();
          const from = flags.after ?? 0n;
          const bar = progressBar('export', Number(head - from));
          try {
            for await (const event of store.readAll({
              ...(flags.after !== undefined ? { after: flags.after } : {}),
              ...(flags.types ? { types: flags.types } : {}),
              ...(flags.categories ? { categories: flags.categories } : {}),
              pageSize: 2000,
            })) {
              // Backpressure: a slow disk or pipe holds the read, so memory stays flat.
              if (!target.write(`${toJson(event)}\n`)) await once(target, 'drain');
              count++;
              last = event.globalPosition;
              if (count % 1000 === 0) bar.update(Number(last - from), { events: count });
            }
          } finally {
            bar.stop();
          }
        });
        if (flags.out) {
          target.end();
          await once(target, 'finish');
        }
        const seconds = (Date.now() - started) / 1000;
        const summary = { events: count, lastPosition: last, seconds, ...(flags.out ? { file: flags.out } : {}) };
        // With no --out the events are the output: the summary goes to stderr.
        if (!flags.out) out.note(`exported ${count} events (to position ${last}) in ${seconds.toFixed(1)} s`);
        else out.result(summary, () => out.line(`Exported ${count} events (to position ${last}) to ${flags.out} in ${seconds.toFixed(1)} s.`));
      }),
    );
}
