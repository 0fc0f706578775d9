import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppendSignal } from '../../consumers/append-signal.js';
import type { EventStore } from '../../core/event-store.js';
import type { RecordedEvent } from '../../core/message.js';
import { action, integer, list, position } from '../cli-command.js';
import { eventDetails, eventLine, toJson, type CliOutput } from '../cli-output.js';
import { withStore } from '../cli-store.js';

interface AllFlags {
  after?: bigint;
  types?: string[];
  categories?: string[];
  limit: number;
  follow?: boolean;
  data?: boolean;
}

export function allCommand(program: Command): void {
  program
    .command('all')
    .description('Read $all, the whole log in global order (gap-safe: never past a transaction that may still commit)')
    .option('--after <position>', 'start after this global position', position('--after'))
    .option('-t, --types <types>', 'only these event types (comma-separated)', list)
    .option('-c, --categories <categories>', 'only streams of these categories (comma-separated)', list)
    .option('-n, --limit <count>', 'at most this many events (without --follow)', integer('--limit'), 1000)
    .option('-f, --follow', 'keep reading new events as they are appended, until interrupted (JSON: one event per line)')
    .option('-d, --data', 'print each event with its data and metadata')
    .action(
      action<[], AllFlags>(async (_args, flags, out) => {
        const filter = { ...(flags.types ? { types: flags.types } : {}), ...(flags.categories ? { categories: flags.categories } : {}) };
        if (flags.follow) return withStore(flags, (store) => follow(store, filter, flags, out));
        const events = await withStore(flags, async (store) => {
          const events: RecordedEvent[] = [];
          for await (const event of store.readAll({ ...filter, limit: flags.limit, ...(flags.after !== undefined ? { after: flags.after } : {}) })) events.push(event);
          return events;
        });
        out.result(events, () => {
          if (events.length === 0) out.line(`No events${flags.after !== undefined ? ` after position ${flags.after}` : ''}${flags.types || flags.categories ? ' that pass the filter' : ''}.`);
          for (const event of events) print(event, flags, out);
          if (events.length === flags.limit) out.line(`… more after position ${events[events.length - 1]!.globalPosition} (--after)`);
        });
      }),
    );
}

/** Pages of `$all` until SIGINT/SIGTERM, woken by appends (on PostgreSQL from any process, by LISTEN) or every second. */
async function follow(store: EventStore, filter: { types?: string[]; categories?: string[] }, flags: AllFlags, out: CliOutput): Promise<void> {
  let after = flags.after ?? 0n;
  let stopping = false;
  let wake: () => void = () => {};
  // Set by a wake-up that came while a page was being read: the next page is read at once.
  let signalled = false;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const unsubscribe = await AppendSignal.of(store).subscribe(() => {
    signalled = true;
    wake();
  });
  try {
    while (!stopping) {
      signalled = false;
      const page = await store.readAllPage({ ...filter, after, limit: 1000 });
      for (const event of page.events) {
        if (out.json) process.stdout.write(`${toJson(event)}\n`);
        else print(event, flags, out);
      }
      after = page.position;
      if (page.events.length === 0 && !signalled) {
        const waited = new Promise<void>((resolve) => (wake = resolve));
        await Promise.race([waited, sleep(1000)]);
      }
    }
  } finally {
    await unsubscribe();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function print(event: RecordedEvent, flags: AllFlags, out: CliOutput): void {
  out.line(eventLine(event));
  if (flags.data) for (const line of eventDetails(event)) out.line(line);
}
