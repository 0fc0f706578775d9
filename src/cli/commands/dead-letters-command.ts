import type { Command } from 'commander';
import { allDeadLetters } from '../../consumers/all-dead-letters.js';
import type { DeadLetter } from '../../consumers/consumer-storage.js';
import { FactumError } from '../../core/errors.js';
import { action } from '../cli-command.js';
import { eventDetails, eventLine, table } from '../cli-output.js';
import { withStore } from '../cli-store.js';

export function deadLettersCommand(program: Command): void {
  const letters = program.command('dead-letters').description('Failed events of every runner, and the events of their streams parked behind them');
  letters
    .command('list', { isDefault: true })
    .description('List dead letters (all runners, or one)')
    .option('-s, --subscription <name>', "only this runner's (a subscription, projection, relay:<name>)")
    .option('--stream <streamId>', 'only this stream')
    .option('--status <status>', 'dead, retrying or parked')
    .action(
      action<[], { subscription?: string; stream?: string; status?: string }>(async (_args, flags, out) => {
        const found = (await withStore(flags, (store) => allDeadLetters(store))).filter(
          (l) => (!flags.subscription || l.subscription === flags.subscription) && (!flags.stream || l.streamId === flags.stream) && (!flags.status || l.status === flags.status),
        );
        out.result(found, () => {
          if (found.length === 0) return out.line('No dead letters.');
          const rows = found.map((l) => [l.id, l.subscription, l.status, l.streamId, String(l.globalPosition), l.event.type, String(l.attempts), oneLine(l.error ?? '')]);
          for (const line of table(['id', 'runner', 'status', 'stream', 'position', 'type', 'attempts', 'error'], rows)) out.line(line);
        });
      }),
    );
  letters
    .command('show')
    .description('One dead letter: its error and stack, its attempts, its event, and the events parked behind it')
    .argument('<id>', 'the dead letter id (from `factum dead-letters`)')
    .action(
      action<[string], object>(async ([id], flags, out) => {
        const all = await withStore(flags, (store) => allDeadLetters(store));
        const letter = all.find((l) => l.id === id);
        if (!letter) throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}"`, { details: { id } });
        const parked = all.filter((l) => l.subscription === letter.subscription && l.streamId === letter.streamId && l.status === 'parked' && l.globalPosition > letter.globalPosition);
        out.result({ ...letter, parked }, () => show(letter, parked, out.line));
      }),
    );
}

function show(letter: DeadLetter, parked: DeadLetter[], line: (text?: string) => void): void {
  line(`Dead letter ${letter.id} of ${letter.subscription}: ${letter.status}, ${letter.attempts} attempts`);
  if (letter.firstFailedAt) line(`  failed first ${letter.firstFailedAt.toISOString()}, last ${letter.lastFailedAt?.toISOString() ?? '?'}`);
  if (letter.error) line(`  error     ${letter.errorCode ? `[${letter.errorCode}] ` : ''}${letter.error}`);
  if (letter.errorStack) for (const frame of letter.errorStack.split('\n').slice(1, 6)) line(`  ${frame.trim()}`);
  line(eventLine(letter.event));
  for (const detail of eventDetails(letter.event)) line(detail);
  line();
  line(parked.length === 0 ? `Nothing of ${letter.streamId} is parked behind it.` : `Parked behind it (${parked.length}, in order):`);
  for (const p of parked) line(eventLine(p.event));
}

function oneLine(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > 60 ? `${first.slice(0, 57)}...` : first;
}
