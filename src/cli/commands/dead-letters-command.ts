import type { Command } from 'commander';
import { allDeadLetters } from '../../consumers/all-dead-letters.js';
import type { DeadLetter } from '../../consumers/consumer-storage.js';
import { FactumError, hasCode } from '../../core/errors.js';
import { requestDeadLetterAction, type DeadLetterActionOutcome } from '../../consumers/request-dead-letter-action.js';
import { action, integer } from '../cli-command.js';
import { eventDetails, eventLine, table, type CliOutput } from '../cli-output.js';
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
  for (const verb of ['retry', 'skip'] as const) {
    letters
      .command(verb)
      .description(
        verb === 'retry'
          ? "Ask the runner's running owner to handle the dead letter again, then the events parked behind it, and report the outcome"
          : 'Drop the dead letter unhandled (done here, in the database); the running owner then handles the events parked behind it, in order',
      )
      .argument('<id>', 'the dead letter id (from `factum dead-letters`)')
      .option('--wait <seconds>', "how long to wait for the owner's outcome (0: only ask)", integer('--wait'), 30)
      .addHelpText(
        'after',
        verb === 'retry'
          ? '\nExit codes: 0 retried (the stream flows again), 1 failed again (the error is shown), 3 still pending: no running owner took the request within --wait (it stays pending; the owner carries it out when it next runs).'
          : '\nExit codes: 0 skipped (also when no owner runs now: the events parked behind it then flow at its next start, which the output says), 1 an event parked behind it failed (it is the dead letter now).',
      )
      .action(
        action<[string], { wait: number }>(async ([id], flags, out) => {
          if (flags.wait < 0) throw new FactumError('INVALID_ARGUMENT', `--wait must be 0 or more, got ${flags.wait}`);
          const done = await withStore(flags, (store) => requestDeadLetterAction(store, id, verb, { waitSeconds: flags.wait })).catch((error: unknown) => {
            throw ownerHint(error, verb);
          });
          out.result(done, () => report(done, flags.wait, out));
          process.exitCode = exitCodeOf(done);
        }),
      );
  }
}

/**
 * The embedded store opens in one process only: while the runner's owner has it open, the CLI
 * cannot reach its tables, so say what works instead of only that it is locked.
 */
function ownerHint(error: unknown, verb: 'retry' | 'skip'): unknown {
  if (!hasCode(error, 'STORE_LOCKED')) return error;
  const e = error as FactumError;
  return new FactumError(
    'STORE_LOCKED',
    `${e.message}. An embedded store is open in one process at a time, so \`dead-letters ${verb}\` cannot run beside the runner that owns it: call ${verb}DeadLetter on the runner in that process (or mount the dashboard there with its runners), or stop it, run this again, and the runner carries the request out at its next start`,
    { cause: error, details: e.details },
  );
}

/** 0 done, 1 failed again, 3 a retry no owner took (a skip is done in the database whether or not its owner runs). */
function exitCodeOf({ outcome, request }: DeadLetterActionOutcome): number {
  if (outcome === 'failed') return 1;
  if (outcome === 'succeeded' || request.action === 'skip') return 0;
  return 3;
}

function report({ outcome, request: r }: DeadLetterActionOutcome, wait: number, out: CliOutput): void {
  const what = `dead letter ${r.deadLetterId} of ${r.subscription} (stream ${r.streamId}, event ${r.eventId})`;
  const by = r.claimedBy ? ` by ${r.claimedBy}` : '';
  const counts = `${r.handled ?? 0} handled, ${r.remaining ?? 0} still held`;
  if (r.action === 'retry') {
    if (outcome === 'succeeded') out.line(`Retried ${what}${by}: ${counts}; the stream flows again.`);
    else if (outcome === 'failed') out.line(`Retry of ${what} failed${by}: ${r.errorCode ? `[${r.errorCode}] ` : ''}${r.error ?? ''} (${counts}).`);
    else out.line(`Retry of ${what} is ${outcome} (request ${r.id}): ${outcome === 'running' ? `its owner${by} had not finished` : 'no running owner took it'} within ${wait} s. It stays asked for: the owner carries it out when it runs.`);
    return;
  }
  out.line(`Skipped ${what}.`);
  if (outcome === 'succeeded') out.line(`The events parked behind it were handled${by}: ${counts}.`);
  else if (outcome === 'failed') out.line(`An event parked behind it failed${by}: ${r.errorCode ? `[${r.errorCode}] ` : ''}${r.error ?? ''} (${counts}).`);
  else out.line(`No running owner ${outcome === 'running' ? 'finished' : 'took'} the events parked behind it within ${wait} s (request ${r.id}): they flow, in order, when ${r.subscription} next runs.`);
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
