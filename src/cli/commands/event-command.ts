import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import { eventLineage } from '../../store/event-lineage.js';
import { action, integer } from '../cli-command.js';
import { eventDetails, eventLine } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function eventCommand(program: Command): void {
  program
    .command('event')
    .description('Show one event, the chain of events that caused it, and the other events of its correlation')
    .argument('<id>', 'the event id')
    .option('-n, --limit <count>', 'at most this many events of the correlation', integer('--limit'), 200)
    .action(
      action<[string], { limit: number }>(async ([id], flags, out) => {
        const lineage = await withStore(flags, (store) => eventLineage(store, id, { limit: flags.limit }));
        if (!lineage) throw new FactumError('NOT_FOUND', `No event with id ${id}`, { details: { id } });
        out.result(lineage, () => {
          out.line(eventLine(lineage.event));
          for (const line of eventDetails(lineage.event)) out.line(line);
          out.line();
          out.line(lineage.causes.length === 0 ? 'Caused by: nothing in the log (it started its flow)' : 'Caused by (nearest first):');
          for (const cause of lineage.causes) out.line(eventLine(cause));
          const correlationId = lineage.event.metadata.correlationId;
          if (!correlationId) return out.line('Correlation: none');
          out.line();
          out.line(`Correlation ${correlationId}: ${lineage.correlated.length}${lineage.moreCorrelated ? '+' : ''} events`);
          for (const event of lineage.correlated) out.line(`${event.id === lineage.event.id ? '> ' : '  '}${eventLine(event)}`);
        });
      }),
    );
}
