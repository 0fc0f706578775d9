import { InvalidArgumentError, type Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import type { RecordedEvent } from '../../core/message.js';
import { action, integer } from '../cli-command.js';
import { eventDetails, eventLine } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function readCommand(program: Command): void {
  program
    .command('read')
    .description("Read one stream's events (versions are inclusive)")
    .argument('<stream>', 'the stream id')
    .option('--from <version>', 'first version (backward: the highest)', integer('--from'))
    .option('--to <version>', 'last version (backward: the lowest)', integer('--to'))
    .option('-b, --backward', 'newest first')
    .option('--as-of <time>', 'only events recorded at or before this time (ISO 8601): the stream as it was then', time)
    .option('-n, --limit <count>', 'at most this many events', integer('--limit'), 1000)
    .option('-d, --data', 'print each event with its data and metadata')
    .action(
      action<[string], { from?: number; to?: number; backward?: boolean; asOf?: Date; limit: number; data?: boolean }>(async ([streamId], flags, out) => {
        const { events, info } = await withStore(flags, async (store) => {
          const info = await store.streamInfo(streamId);
          if (info.version === 0) throw new FactumError('NOT_FOUND', `No stream "${streamId}"`, { details: { streamId } });
          const events: RecordedEvent[] = [];
          const options = {
            limit: flags.limit,
            ...(flags.backward ? { direction: 'backward' as const } : {}),
            ...(flags.from !== undefined ? { fromVersion: flags.from } : {}),
            ...(flags.to !== undefined ? { toVersion: flags.to } : {}),
            ...(flags.asOf ? { asOf: flags.asOf } : {}),
          };
          for await (const event of store.readStream(streamId, options)) events.push(event);
          return { events, info };
        });
        out.result(events, () => {
          const state = info.tombstoned ? ' (tombstoned)' : info.softDeleted ? ' (soft-deleted)' : '';
          out.line(`${streamId}: version ${info.version}${state}, ${events.length} events shown`);
          for (const event of events) {
            out.line(eventLine(event));
            if (flags.data) for (const line of eventDetails(event)) out.line(line);
          }
        });
      }),
    );
}

function time(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`--as-of must be a time such as 2026-12-01T10:00:00Z, got "${value}"`);
  return date;
}
