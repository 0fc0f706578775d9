/**
 * What `npm start -- --orchestrated` prints about the checkout sagas: how this run's sagas ended,
 * and one saga's log (its stream: every input it accepted and every output it produced), one
 * line per event, for people.
 */
import { WORKFLOW_LOG_TYPES, type CommandIssuedData, type EventStore, type InputAcceptedData, type RecordedEvent, type SagaResult, type WorkflowInstanceDetails } from '../../../src/index.js';
import type { Print } from '../report.js';
import type { CheckoutRunner } from './checkout-flow.js';
import { CHECKOUT } from './checkout-saga.js';

const pad = (value: unknown, width: number): string => String(value).padEnd(width);

/** How one saga ended, in words: "completed", "compensated: the capture failed (…)". */
export function outcomeOf(result: SagaResult | undefined): string {
  if (!result) return 'running';
  if (result.outcome === 'completed') return 'completed';
  const failure = result.failure;
  const why = !failure ? '' : failure.reason === 'timeout' ? `: the ${failure.step} step timed out` : `: the ${failure.step} step failed`;
  const answer = failure?.reply as { reason?: string; missing?: unknown } | undefined;
  // The answers say why in their own words; a shortage lists what is missing, a void that the order was cancelled.
  const reply = answer?.reason ?? (answer?.missing ? 'out of stock' : failure?.step === 'reserve' && answer ? 'the customer had cancelled' : undefined);
  const compensation = result.compensationFailed ? `, and so did the compensation of ${result.compensationFailed}` : '';
  return `${result.outcome}${why}${reply ? ` (${reply})` : ''}${compensation}`;
}

/** The ends of this run's sagas (their `WorkflowCompleted` events after `after`), by order id. */
export async function sagaEnds(store: EventStore, after: bigint): Promise<Map<string, SagaResult>> {
  const prefix = `workflow-${CHECKOUT}-`;
  const ends = new Map<string, SagaResult>();
  for await (const event of store.readAll({ after, types: [WORKFLOW_LOG_TYPES.completed] })) {
    if (event.streamId.startsWith(prefix)) ends.set(event.streamId.slice(prefix.length), (event.data as { result: SagaResult }).result);
  }
  return ends;
}

/** The most telling saga: one undone from its last step, else one that timed out, else any compensated, else any. */
export function pickSaga(ends: Map<string, SagaResult>): string | undefined {
  const all = [...ends];
  const find = (test: (r: SagaResult) => boolean) => all.find(([, r]) => test(r))?.[0];
  return find((r) => r.failure?.step === 'capture') ?? find((r) => r.failure?.reason === 'timeout') ?? find((r) => r.outcome === 'compensated') ?? all[0]?.[0];
}

export async function printCheckoutSagas(print: Print, store: EventStore, runner: CheckoutRunner, after: bigint): Promise<void> {
  const ends = await sagaEnds(store, after);
  const counts = new Map<string, number>();
  for (const result of ends.values()) counts.set(outcomeOf(result), (counts.get(outcomeOf(result)) ?? 0) + 1);
  print(`Checkout sagas (orchestrated: one saga per order, its log the stream ${`workflow-${CHECKOUT}-<order id>`})`);
  for (const [outcome, n] of [...counts].sort()) print(`  ${pad(outcome, 86)} ${String(n).padStart(5)}`);
  const logged = { inputs: 0, commands: 0, fired: 0, maxLatenessMs: 0 };
  for await (const event of store.readAll({ after, categories: ['workflow'] })) {
    if (event.type === WORKFLOW_LOG_TYPES.commandIssued) logged.commands++;
    if (event.type !== WORKFLOW_LOG_TYPES.inputAccepted) continue;
    logged.inputs++;
    const { input } = event.data as InputAcceptedData;
    if (input.type !== 'TimerFired') continue;
    logged.fired++;
    logged.maxLatenessMs = Math.max(logged.maxLatenessMs, (input.data as { latenessMs: number }).latenessMs);
  }
  print(`  their logs: ${logged.inputs} inputs accepted, ${logged.commands} commands sent, ${logged.fired} timeouts fired (at most ${logged.maxLatenessMs} ms after due)`);
  const id = pickSaga(ends);
  const saga = id === undefined ? undefined : await runner.queries.instance(id);
  if (!saga) return;
  print();
  printSagaLog(print, saga, ends.get(saga.instanceId));
}

/** One saga's log, event by event: `in` what it accepted, `out` what it decided, `end` how it ended. */
export function printSagaLog(print: Print, saga: WorkflowInstanceDetails<unknown>, result: SagaResult | undefined): void {
  print(`The log of order ${saga.instanceId}'s saga (${outcomeOf(result)}), stream ${saga.streamId}, ${saga.log.length} events:`);
  let inputAt: number | undefined;
  for (const event of saga.log) {
    const [kind, what, detail] = describe(event, saga.streamId, inputAt);
    if (event.type === WORKFLOW_LOG_TYPES.inputAccepted) inputAt = Date.parse((event.data as InputAcceptedData).at);
    print(`  ${pad(`v${event.streamVersion}`, 5)} ${pad(kind, 4)} ${pad(what, 26)} ${detail}`);
  }
}

function describe(event: RecordedEvent, streamId: string, inputAt: number | undefined): [string, string, string] {
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case WORKFLOW_LOG_TYPES.inputAccepted: {
      const { input, source } = data as unknown as InputAcceptedData;
      if (input.type === 'TimerFired') {
        const fired = input.data as { timer: string; latenessMs: number };
        return ['in', `timer "${fired.timer}" fired`, `${fired.latenessMs} ms after it was due`];
      }
      return ['in', input.type, source ? `from ${source.streamId} v${source.streamVersion}` : ''];
    }
    case WORKFLOW_LOG_TYPES.commandIssued: {
      const { command, commandId } = data as unknown as CommandIssuedData;
      return ['out', command.type, `command ${commandId.replace(`${streamId}/`, '…/')}`];
    }
    case WORKFLOW_LOG_TYPES.timerScheduled: {
      const after = inputAt === undefined ? '' : ` (${((Date.parse(data.dueAt as string) - inputAt) / 1000).toFixed(1)} s after that input)`;
      return ['out', `timer "${String(data.timer)}"`, `due ${String(data.dueAt)}${after}`];
    }
    case WORKFLOW_LOG_TYPES.timerCancelled:
      return ['out', `timer "${String(data.timer)}"`, data.reason === 'completed' ? 'cancelled: the saga ended' : 'cancelled: answered in time'];
    case WORKFLOW_LOG_TYPES.completed:
      return ['end', (data.result as SagaResult | undefined)?.outcome ?? 'completed', outcomeOf(data.result as SagaResult | undefined)];
    default:
      return ['out', event.type, JSON.stringify(data)];
  }
}
