import { allDeadLetters } from '../consumers/all-dead-letters.js';
import type { DeadLetter } from '../consumers/consumer-storage.js';
import type { DrainResult } from '../consumers/dead-letter-drain.js';
import { requestDeadLetterAction } from '../consumers/request-dead-letter-action.js';
import { sqlAccess } from '../store/sql-access.js';
import { FactumError } from '../core/errors.js';
import type { EventStore } from '../core/event-store.js';
import { streamCategory, type RecordedEvent } from '../core/message.js';
import type { Decider } from '../domain/decider.js';
import { stateHistory } from '../domain/state-history.js';
import type { BoundReport } from '../observability/consistency-bound.js';
import { WorkflowQueries } from '../sagas/workflow-queries.js';
import type { Workflow } from '../sagas/workflow.js';
import { eventLineage } from '../store/event-lineage.js';
import type { HeadSampler } from './head-sampler.js';

/**
 * A runner of this process whose dead letters the dashboard may retry and skip: a
 * `Subscription`, `ProjectionRunner`, `Relay` or `EventConsumer` (retrying runs its handler,
 * so only the process that has the handler can do it).
 */
export interface DashboardRunner {
  readonly name?: string;
  deadLetters(): Promise<DeadLetter[]>;
  retryDeadLetter(id: string): Promise<DrainResult | unknown>;
  skipDeadLetter(id: string): Promise<DrainResult | unknown>;
}

export interface DashboardApiContext {
  store: EventStore;
  sampler: HeadSampler;
  runners: DashboardRunner[];
  workflows: Array<Workflow<any, any, any, any>>;
  /** The runners' bound states (ok / lagging / stalled / stopped), by runner name. */
  bounds?: { reports(): BoundReport[] };
  /** Deciders by stream category: a stream of one has its state at each version. */
  deciders: Record<string, Decider<any, any, any>>;
  /** The store location to show, password already removed. */
  location?: string;
  /** How long an action asked of another process's runner waits for its outcome, in seconds; 10 by default. */
  actionWaitSeconds?: number;
}

/**
 * What a retry or skip from the page did. `via: 'here'`: a runner of this process did it with
 * its handler. `via: 'owner'`: it was asked for in the database (SQL stores) and `outcome` is what
 * the running owner reported within the wait (`pending`: none took it yet; it stays asked for).
 */
export interface DashboardActionResult {
  action: 'retry' | 'skip';
  via: 'here' | 'owner';
  outcome: 'succeeded' | 'failed' | 'pending' | 'running';
  handled: number;
  remaining: number;
  error?: string;
  errorCode?: string;
  /** `host:pid` of the owner that carried it out (`via: 'owner'`). */
  claimedBy?: string;
  /** The request's id in the store (`via: 'owner'`). */
  requestId?: string;
}

/** Most events (or streams) one page of the API returns. */
const MAX_PAGE = 500;

/**
 * The dashboard's JSON API: reads through the same functions as the CLI, and the two actions.
 * Resolves to the value to send; a `FactumError` becomes a 4xx with its code.
 *
 * @example
 * const body = await dashboardApi(context, 'GET', ['streams'], new URLSearchParams('category=order'))
 */
export async function dashboardApi(context: DashboardApiContext, method: string, path: string[], query: URLSearchParams): Promise<unknown> {
  const { store } = context;
  const [first, second, third] = path;
  if (method === 'POST') {
    if (first === 'dead-letters' && second && (third === 'retry' || third === 'skip')) return deadLetterAction(context, second, third);
    throw new FactumError('NOT_FOUND', `No action ${path.join('/')}`);
  }
  if (method !== 'GET') throw new FactumError('INVALID_ARGUMENT', `Method ${method} is not served`);
  switch (first) {
    case 'overview': {
      await context.sampler.sample();
      const samples = context.sampler.samples();
      const bounds = Object.fromEntries((context.bounds?.reports() ?? []).map((r) => [r.name, { state: r.state, breached: r.breached, bound: r.bound, etaSeconds: r.etaSeconds }]));
      return { location: context.location, head: samples.at(-1)?.head ?? (await store.headPosition()), runners: context.sampler.runners, samples, bounds, here: await lettersHere(context) };
    }
    case 'streams':
      if (second === undefined) return streams(store, query);
      return third === 'states' ? streamStates(context, second, query) : streamPage(context, second, query);
    case 'events': {
      const lineage = await eventLineage(store, second ?? '', { limit: 100 });
      if (!lineage) throw new FactumError('NOT_FOUND', `No event with id ${second}`);
      return lineage;
    }
    case 'dead-letters': {
      const letters = await allDeadLetters(store);
      const here = await lettersHere(context);
      // On a SQL store a dead letter of a runner elsewhere is asked of its owner through the database.
      const viaOwner = sqlAccess(store) !== undefined;
      return letters.map((l) => {
        const via = here.has(l.id) ? 'here' : viaOwner && l.status === 'dead' ? 'owner' : undefined;
        return { ...l, actionable: via !== undefined, ...(via ? { actionVia: via } : {}) };
      });
    }
    case 'sagas':
      return second === undefined ? sagas(context, query) : saga(context, second, third ?? '');
    default:
      throw new FactumError('NOT_FOUND', `No API ${path.join('/')}`);
  }
}

async function streams(store: EventStore, query: URLSearchParams) {
  const limit = pageSize(query, 100);
  const q = query.get('q') ?? '';
  const category = query.get('category') || undefined;
  const after = query.get('after') || undefined;
  if (!q) return store.listStreams({ limit, ...(category ? { category } : {}), ...(after ? { after } : {}) });
  // By id: the stream itself, then those whose id starts with it (listed in id order after it).
  const found = [];
  const exact = after ? undefined : await store.streamInfo(q);
  if (exact && exact.version > 0) found.push(exact);
  const next = await store.listStreams({ limit, after: after ?? q, ...(category ? { category } : {}) });
  for (const s of next) if (s.streamId.startsWith(q) && found.length < limit) found.push(s);
  return found;
}

/** One page of a stream, read from a version with a limit: a long stream is never loaded whole. */
async function streamPage({ store, deciders }: DashboardApiContext, streamId: string, query: URLSearchParams) {
  const info = await store.streamInfo(streamId);
  if (info.version === 0) throw new FactumError('NOT_FOUND', `No stream "${streamId}"`);
  const limit = pageSize(query, 50);
  const from = Math.max(1, Number(query.get('from') ?? 1) || 1);
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamId, { fromVersion: from, limit, pageSize: limit })) events.push(event);
  return { info, from, limit, events, folds: Object.hasOwn(deciders, streamCategory(streamId)) };
}

/** The page's states: the stream folded by its category's decider up to the page's end. */
async function streamStates({ store, deciders }: DashboardApiContext, streamId: string, query: URLSearchParams) {
  const category = streamCategory(streamId);
  const decider = Object.hasOwn(deciders, category) ? deciders[category] : undefined;
  if (!decider) throw new FactumError('NOT_FOUND', `No decider for the category "${category}": name one in factum.config.ts (deciders: { ${category}: ... })`);
  const from = Math.max(1, Number(query.get('from') ?? 1) || 1);
  return stateHistory(store, streamId, decider, { from, limit: pageSize(query, 50) });
}

async function sagas(context: DashboardApiContext, query: URLSearchParams) {
  const status = query.get('status');
  if (status && status !== 'running' && status !== 'completed') throw new FactumError('INVALID_ARGUMENT', `status is running or completed, got "${status}"`);
  const rows = [];
  for (const workflow of context.workflows) {
    rows.push(...(await new WorkflowQueries(context.store, workflow).instances({ limit: pageSize(query, 100), ...(status ? { status: status as 'running' | 'completed' } : {}) })));
  }
  return { workflows: context.workflows.map((w) => w.name), instances: rows };
}

async function saga(context: DashboardApiContext, name: string, instanceId: string) {
  const workflow = context.workflows.find((w) => w.name === name);
  if (!workflow) throw new FactumError('NOT_FOUND', `No workflow "${name}" given to the dashboard`);
  const details = await new WorkflowQueries(context.store, workflow).instance(instanceId);
  if (!details) throw new FactumError('NOT_FOUND', `Workflow "${name}" has no instance "${instanceId}"`);
  return details;
}

/** Ids of the dead letters a runner of this process can retry or skip. */
async function lettersHere(context: DashboardApiContext): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const runner of context.runners) for (const letter of await runner.deadLetters()) if (letter.status === 'dead') ids.add(letter.id);
  return ids;
}

async function deadLetterAction(context: DashboardApiContext, id: string, action: 'retry' | 'skip'): Promise<DashboardActionResult> {
  for (const runner of context.runners) {
    if ((await runner.deadLetters()).some((l) => l.id === id && l.status === 'dead')) {
      // A broker consumer's drain resolves to nothing: then everything was handled, or it threw.
      const result = (action === 'retry' ? await runner.retryDeadLetter(id) : await runner.skipDeadLetter(id)) as Partial<DrainResult> | undefined;
      const handled = result?.handled ?? 0;
      const remaining = result?.remaining ?? 0;
      return { action, via: 'here', outcome: remaining > 0 ? 'failed' : 'succeeded', handled, remaining };
    }
  }
  if (!sqlAccess(context.store)) {
    throw new FactumError('DEAD_LETTER_NOT_FOUND', `No dead letter "${id}" of a runner of this process (retrying runs the runner's handler: mount the dashboard where the runner runs, with \`runners\`)`, { details: { id } });
  }
  const { outcome, request } = await requestDeadLetterAction(context.store, id, action, { waitSeconds: context.actionWaitSeconds ?? 10 });
  return {
    action,
    via: 'owner',
    outcome,
    handled: request.handled ?? 0,
    remaining: request.remaining ?? 0,
    ...(request.error !== undefined ? { error: request.error } : {}),
    ...(request.errorCode !== undefined ? { errorCode: request.errorCode } : {}),
    ...(request.claimedBy !== undefined ? { claimedBy: request.claimedBy } : {}),
    requestId: request.id,
  };
}

function pageSize(query: URLSearchParams, fallback: number): number {
  const n = Number(query.get('limit') ?? fallback);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_PAGE) : fallback;
}
