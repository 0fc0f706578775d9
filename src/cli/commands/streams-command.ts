import type { Command } from 'commander';
import { action, integer } from '../cli-command.js';
import { table } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function streamsCommand(program: Command): void {
  program
    .command('streams')
    .description('List streams, in id order (a page at a time: --after the last id shown)')
    .option('-c, --category <category>', 'only streams of this category (the part of the id before the first "-")')
    .option('--after <streamId>', 'start after this stream id')
    .option('-n, --limit <count>', 'at most this many streams', integer('--limit'), 100)
    .option('--deleted', 'include soft-deleted and tombstoned streams')
    .action(
      action<[], { category?: string; after?: string; limit: number; deleted?: boolean }>(async (_args, flags, out) => {
        const streams = await withStore(flags, (store) =>
          store.listStreams({
            limit: flags.limit,
            ...(flags.category ? { category: flags.category } : {}),
            ...(flags.after ? { after: flags.after } : {}),
            ...(flags.deleted ? { includeDeleted: true } : {}),
          }),
        );
        out.result(streams, () => {
          const state = (s: (typeof streams)[number]) => (s.tombstoned ? 'tombstoned' : s.softDeleted ? 'deleted' : '');
          for (const line of table(['stream', 'version', 'state'], streams.map((s) => [s.streamId, String(s.version), state(s)]))) out.line(line);
          if (streams.length === flags.limit) out.line(`… more after "${streams[streams.length - 1]!.streamId}" (--after)`);
        });
      }),
    );
}
