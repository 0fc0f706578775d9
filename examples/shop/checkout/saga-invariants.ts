/**
 * The self-check of the orchestrated checkout, against the sagas' logs: every saga ended, as its
 * order did (completed: confirmed, compensated: cancelled), and its compensations undid exactly
 * the steps it had completed (and the one that timed out), in reverse order. On a choreographed store there are no sagas and
 * nothing to check.
 */
import { foldWorkflowLog, WORKFLOW_LOG_TYPES, type CommandIssuedData, type RecordedEvent, type SagaResult } from '../../../src/index.js';
import { CHECKOUT, checkoutSaga } from './checkout-saga.js';

/** Only its steps and its fold are used here, neither depends on the timeout. */
const saga = checkoutSaga({ authorisationTimeoutMs: 1 });

/** The logs of the checkout sagas, by order id, from the events of the `workflow` category. */
export function sagaLogs(workflowEvents: RecordedEvent[]): Map<string, RecordedEvent[]> {
  const prefix = `workflow-${CHECKOUT}-`;
  const logs = new Map<string, RecordedEvent[]>();
  for (const event of workflowEvents) {
    if (!event.streamId.startsWith(prefix)) continue;
    const id = event.streamId.slice(prefix.length);
    logs.set(id, [...(logs.get(id) ?? []), event]);
  }
  return logs;
}

/** What went wrong with one saga, or undefined; `order` is what the order's stream says. */
export function sagaOffence(log: RecordedEvent[], order: { confirmed: number; cancelled: number } | undefined): string | undefined {
  const end = log.find((e) => e.type === WORKFLOW_LOG_TYPES.completed);
  const result = (end?.data as { result?: SagaResult } | undefined)?.result;
  if (!result) return 'still running';
  if (result.outcome === 'failed') return `failed (${JSON.stringify(result)})`;
  const ended = result.outcome === 'completed' ? order?.confirmed === 1 && order.cancelled === 0 : order?.cancelled === 1 && order.confirmed === 0;
  if (!ended) return `${result.outcome}, but its order is ${JSON.stringify(order)}`;
  // Completed: answered while it was the step in hand (the saga's fold keeps those replies). A
  // step that timed out (no step here retries) is in doubt: its answer may yet come, so it is
  // undone too, first.
  const { replies } = foldWorkflowLog(saga, log).state;
  const inDoubt = result.failure?.reason === 'timeout' ? result.failure.step : undefined;
  const done = saga.steps.filter((step) => step.name in replies || step.name === inDoubt);
  const expected = result.outcome === 'completed' ? [] : done.filter((step) => step.compensation).map((step) => step.name).reverse();
  const undone = log
    .filter((e) => e.type === WORKFLOW_LOG_TYPES.commandIssued)
    .map((e) => /\/([^/]+)\/compensate\/\d+$/.exec((e.data as CommandIssuedData).commandId)?.[1])
    .filter((name): name is string => name !== undefined);
  if (undone.join() !== expected.join()) return `compensated [${undone.join(', ')}], expected [${expected.join(', ')}]`;
  return undefined;
}
