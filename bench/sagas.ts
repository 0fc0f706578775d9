/**
 * Orchestrated sagas (issue 15, "Benchmark"): N trip sagas of 4 steps (test/runner-suites/trip-saga.ts:
 * seat, card, hotel under a 60 s timeout, confirm; the steps' commands handled in this process by
 * the suites' services, which keep each effect once per command id) on PostgreSQL and PGlite in
 * memory, `ROUNDS` rounds per store, interleaved, each on a fresh schema.
 *
 * Per round, two parts on one runner:
 * - bulk: the N start events are appended first, then the runner starts; the clock runs from its
 *   start to the last completion (polled outside the store's client), giving sagas/s;
 * - one at a time: `SINGLE` more sagas, each started once the one before completed, so that a
 *   step's latency and statements are those of a saga alone.
 * A step's latency is taken from the saga's log: from the `WorkflowCommandIssued` of its first
 * attempt to the `WorkflowInputAccepted` of its reply. Both are `recordedAt`, which is the
 * `now()` of the transaction that appended them, that is its start: in a consumer's page of
 * 100 inputs every append shares one time, so bulk latencies are quantised by pages.
 * Statements: the store's `SqlClient` is wrapped and counted (statement-counter.ts), from the
 * runner's start (bulk) or each start event's append (one at a time) to the completion.
 *
 * PostgreSQL runs on a pool of 4 connections (a handler's reads run on its transaction's
 * connection, so the runner needs no more: src/sagas/saga-small-pool.int.test.ts).
 *
 * Run with `npm run bench:sagas [-- sagas]` or `npx tsx bench/sagas.ts [sagas]` (1,000 by
 * default; `--quick`: 50 sagas, nothing written). Prints the tables and writes
 * bench/results/sagas.{json,md}; the md keeps what follows its "## Notes" heading.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '../src/core/message.js';
import { sleep } from '../src/core/sleep.js';
import { WorkflowRunner } from '../src/sagas/workflow-runner.js';
import { WORKFLOW_LOG_TYPES, workflowStreamId } from '../src/sagas/workflow-log.js';
import type { CommandIssuedData } from '../src/sagas/accept-input.js';
import type { InputAcceptedData } from '../src/sagas/workflow-log.js';
import { tripSaga, tripServices } from '../test/runner-suites/trip-saga.js';
import { openBenchStore, type BenchBackend, type BenchStore } from './bench-stores.js';
import { StatementCounter, type StatementTally } from './statement-counter.js';

const quick = process.argv.includes('--quick');
const SAGAS = quick ? 50 : Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1000);
const SINGLE = quick ? 5 : 30;
const ROUNDS = 2;
const MAX_CONNECTIONS = 4;
const STEPS = [
  { name: 'seat', reply: 'SeatReserved' },
  { name: 'card', reply: 'CardCharged' },
  { name: 'hotel', reply: 'HotelBooked' },
  { name: 'confirm', reply: 'ConfirmationSent' },
] as const;
/** Inputs a saga's log accepts when every step succeeds: its start and one reply per step. */
const INPUTS_PER_SAGA = 1 + STEPS.length;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Latencies {
  /** Per step name, then all steps together: p50 and p99 in ms. */
  steps: Record<string, { p50: number; p99: number }>;
  all: { p50: number; p99: number; max: number };
  /** From the start event's acceptance to the completion. */
  saga: { p50: number; p99: number };
  /** One at a time only: statements sent (by any session) between a step's command and its reply's acceptance. */
  inWindow?: { p50: number; p99: number };
}

interface Part {
  sagas: number;
  seconds: number;
  sagasPerSecond: number;
  latencies: Latencies;
  statements: { total: number; perSaga: number; perStep: number; byKind: Array<{ kind: string; perStep: number; msPerStatement: number }> };
}

interface Round {
  backend: BenchBackend;
  round: number;
  loadAverage: number;
  bulk: Part;
  single: Part;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Step latencies from the logs of `ids`, as the brief asks: command appended → reply accepted. */
async function latenciesOf(bench: BenchStore, ids: string[], statementTimes?: number[]): Promise<Latencies> {
  const perStep = new Map<string, number[]>(STEPS.map((s) => [s.name, []]));
  const sagaMs: number[] = [];
  const times = statementTimes ? [...statementTimes].sort((a, b) => a - b) : undefined;
  const inWindow: number[] = [];
  for (const id of ids) {
    const log: RecordedEvent[] = [];
    for await (const event of bench.store.readStream(workflowStreamId('trip', id))) log.push(event);
    const started = log.find((e) => e.type === WORKFLOW_LOG_TYPES.inputAccepted)!;
    const completed = log.find((e) => e.type === WORKFLOW_LOG_TYPES.completed);
    if (!completed) throw new Error(`saga ${id} did not complete`);
    sagaMs.push(completed.recordedAt.getTime() - started.recordedAt.getTime());
    for (const step of STEPS) {
      const sent = log.find((e) => e.type === WORKFLOW_LOG_TYPES.commandIssued && (e.data as CommandIssuedData).commandId.endsWith(`/${step.name}/1`));
      const answered = log.find((e) => e.type === WORKFLOW_LOG_TYPES.inputAccepted && (e.data as InputAcceptedData).input.type === step.reply);
      if (!sent || !answered) throw new Error(`saga ${id}: step ${step.name} has no command or no reply in its log`);
      perStep.get(step.name)!.push(answered.recordedAt.getTime() - sent.recordedAt.getTime());
      if (times) inWindow.push(times.filter((t) => t >= sent.recordedAt.getTime() && t < answered.recordedAt.getTime()).length);
    }
  }
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const all = sorted([...perStep.values()].flat());
  const saga = sorted(sagaMs);
  return {
    steps: Object.fromEntries([...perStep].map(([name, values]) => {
      const s = sorted(values);
      return [name, { p50: percentile(s, 0.5), p99: percentile(s, 0.99) }];
    })),
    all: { p50: percentile(all, 0.5), p99: percentile(all, 0.99), max: all.at(-1)! },
    saga: { p50: percentile(saga, 0.5), p99: percentile(saga, 0.99) },
    ...(times ? { inWindow: { p50: percentile(sorted(inWindow), 0.5), p99: percentile(sorted(inWindow), 0.99) } } : {}),
  };
}

function statementsOf(counted: { total: number; byKind: Array<{ kind: string } & StatementTally> }, sagas: number): Part['statements'] {
  const steps = sagas * STEPS.length;
  return {
    total: counted.total,
    perSaga: round1(counted.total / sagas),
    perStep: round1(counted.total / steps),
    byKind: counted.byKind.map((k) => ({ kind: k.kind, perStep: Math.round((k.count / steps) * 100) / 100, msPerStatement: Math.round((k.ms / Math.max(1, k.count)) * 100) / 100 })),
  };
}

async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function runRound(backend: BenchBackend, round: number): Promise<Round> {
  const counter = new StatementCounter();
  const bench = await openBenchStore(backend, { prefix: 'bench_saga', maxConnections: MAX_CONNECTIONS, wrap: (client) => counter.wrap(client) });
  const loadAverage = os.loadavg()[0]!;
  try {
    const { store } = bench;
    const completed = async (): Promise<number> => {
      const [row] = await bench.uncounted<{ n: string }>(`SELECT count(*) AS n FROM "${bench.schema}".workflow_instances WHERE workflow = 'trip' AND status = 'completed'`);
      return Number(row!.n);
    };
    const bulkIds = Array.from({ length: SAGAS }, (_, i) => `b${i}`);
    for (const id of bulkIds) await store.append(`trip-${id}`, [{ type: 'TripRequested', data: { tripId: id } }]);
    const runner = new WorkflowRunner(store, tripSaga(), { handlers: tripServices(), onError: (error) => console.error(error) });

    counter.reset();
    counter.counting = true;
    const started = performance.now();
    await runner.start();
    // In memory first (no statement), then the table, outside the counted client.
    await until(() => runner.status().counts.accepted >= SAGAS * INPUTS_PER_SAGA, 600_000, 'the bulk inputs');
    await until(async () => (await completed()) >= SAGAS, 60_000, 'the bulk completions');
    const bulkSeconds = (performance.now() - started) / 1000;
    counter.counting = false;
    const bulkStatements = counter.snapshot();

    counter.times = [];
    counter.reset();
    const singleIds = Array.from({ length: SINGLE }, (_, i) => `s${i}`);
    let singleSeconds = 0;
    for (const [i, id] of singleIds.entries()) {
      await store.append(`trip-${id}`, [{ type: 'TripRequested', data: { tripId: id } }]);
      counter.counting = true;
      const t0 = performance.now();
      await until(() => runner.status().counts.accepted >= (SAGAS + i + 1) * INPUTS_PER_SAGA, 60_000, `saga ${id}`);
      await until(async () => (await completed()) >= SAGAS + i + 1, 60_000, `saga ${id}'s completion`);
      singleSeconds += (performance.now() - t0) / 1000;
      counter.counting = false;
    }
    const singleStatements = counter.snapshot();
    await runner.stop();

    const singleTimes = counter.times;
    const part = async (ids: string[], seconds: number, counted: typeof bulkStatements, times?: number[]): Promise<Part> => ({
      sagas: ids.length,
      seconds: Math.round(seconds * 100) / 100,
      sagasPerSecond: round1(ids.length / seconds),
      latencies: await latenciesOf(bench, ids, times),
      statements: statementsOf(counted, ids.length),
    });
    return { backend, round, loadAverage: round1(loadAverage), bulk: await part(bulkIds, bulkSeconds, bulkStatements), single: await part(singleIds, singleSeconds, singleStatements, singleTimes) };
  } finally {
    await bench.close();
  }
}

const label = (backend: BenchBackend): string => (backend === 'postgres' ? `PostgreSQL (maxConnections ${MAX_CONNECTIONS})` : 'PGlite (in memory)');

function tables(rounds: Round[]): string[] {
  const ms = (n: number) => String(Math.round(n));
  const bulk = [
    `| store | round | load avg | sagas | to the last completion | sagas/s | step p50 / p99 (ms) | seat / card / hotel / confirm p50 (ms) | saga p50 / p99 (ms) | statements per step |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rounds.map((r) => {
      const l = r.bulk.latencies;
      return `| ${label(r.backend)} | ${r.round} | ${r.loadAverage} | ${r.bulk.sagas} | ${r.bulk.seconds} s | ${r.bulk.sagasPerSecond} | ${ms(l.all.p50)} / ${ms(l.all.p99)} | ${STEPS.map((s) => ms(l.steps[s.name]!.p50)).join(' / ')} | ${ms(l.saga.p50)} / ${ms(l.saga.p99)} | ${r.bulk.statements.perStep} |`;
    }),
  ];
  const single = [
    `| store | round | sagas | step p50 / p99 (ms) | seat / card / hotel / confirm p50 (ms) | saga p50 / p99 (ms) | statements per saga | per step | in a step's window p50 / p99 |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rounds.map((r) => {
      const l = r.single.latencies;
      return `| ${label(r.backend)} | ${r.round} | ${r.single.sagas} | ${ms(l.all.p50)} / ${ms(l.all.p99)} | ${STEPS.map((s) => ms(l.steps[s.name]!.p50)).join(' / ')} | ${ms(l.saga.p50)} / ${ms(l.saga.p99)} | ${r.single.statements.perSaga} | ${r.single.statements.perStep} | ${r.single.latencies.inWindow?.p50} / ${r.single.latencies.inWindow?.p99} |`;
    }),
  ];
  // Statements per step by kind, one saga at a time, first round of each store (the counts do not move between rounds).
  const kinds = (r: Round) => new Map(r.single.statements.byKind.map((k) => [k.kind, k]));
  const firsts = (['postgres', 'pglite'] as const).map((b) => rounds.find((r) => r.backend === b)).filter((r): r is Round => r !== undefined);
  const allKinds = [...new Set(firsts.flatMap((r) => r.single.statements.byKind.map((k) => k.kind)))];
  const breakdown = [
    `| statement | ${firsts.map((r) => `${label(r.backend)}, one at a time: per step × mean ms`).join(' | ')} | ${firsts.map((r) => `${label(r.backend)}, all at once: per step`).join(' | ')} |`,
    `|---|${firsts.map(() => '---').join('|')}|${firsts.map(() => '---').join('|')}|`,
    ...allKinds.map((kind) => {
      const cells = firsts.map((r) => {
        const k = kinds(r).get(kind);
        return k ? `${k.perStep} × ${k.msPerStatement}` : '-';
      });
      const bulkCells = firsts.map((r) => r.bulk.statements.byKind.find((k) => k.kind === kind)?.perStep ?? '-');
      return `| \`${kind}\` | ${cells.join(' | ')} | ${bulkCells.join(' | ')} |`;
    }),
  ];
  const note = `Round 1 of each store. Mean ms: from sending to the result, so on PGlite it includes the wait for its one session, and on PostgreSQL for a pooled connection.`;
  return ['### All at once', '', ...bulk, '', '### One at a time', '', ...single, '', '### Statements per step, by kind', '', note, '', ...breakdown];
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg();
  const date = new Date().toISOString();
  const rounds: Round[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const backend of ['postgres', 'pglite'] as const) {
      const r = await runRound(backend, round);
      console.error(`${label(backend)} round ${round}: ${r.bulk.sagasPerSecond} sagas/s, step p50 ${Math.round(r.bulk.latencies.all.p50)} ms, ${r.single.statements.perStep} statements per step alone`);
      rounds.push(r);
    }
  }
  const loadAtEnd = os.loadavg();
  const command = `npx tsx bench/sagas.ts ${SAGAS}`;
  const lines = [
    '# Orchestrated sagas (issue 15, Benchmark)',
    '',
    `Run of ${date}, \`${command}\` (\`npm run bench:sagas\`), on the shared ${os.cpus().length}-core machine while other sessions worked: load average (1/5/15 min) ${loadAtStart.map((n) => n.toFixed(1)).join(' / ')} at the start, ${loadAtEnd.map((n) => n.toFixed(1)).join(' / ')} at the end (the 1-minute figure at each round's start is in the tables). Read the rates as a floor.`,
    '',
    `${SAGAS} trip sagas (test/runner-suites/trip-saga.ts) of 4 steps: seat, card, hotel (a 60 s timeout: a timer row scheduled and cancelled), confirm; each step a command to an in-process service that reads its effects stream (its inbox), appends the effect and appends the reply. A saga's log takes 5 inputs (start and 4 replies) and sends 4 commands. One \`WorkflowRunner\` (default options: pages of 100, polling every 1 s behind the wake-ups) on each store, ${ROUNDS} rounds per store, interleaved, each on a new schema (PostgreSQL) or a new in-memory database (PGlite). PostgreSQL runs on a pool of \`maxConnections: ${MAX_CONNECTIONS}\`.`,
    '',
    `- **All at once**: the ${SAGAS} start events are appended first; the clock runs from the runner's start to the last completion (polled outside the counted client). A backlog of ${SAGAS} sagas: latencies here are mostly queueing.`,
    `- **One at a time**: then ${SINGLE} more sagas on the same runner, each started when the one before completed: a step alone. "In a step's window": the statements any session sent between the step's command and its reply's acceptance (by the wall clock at sending; on PGlite all of them share its one session, on PostgreSQL some run beside the step's own).`,
    '- **Step latency**: from the saga log, `recordedAt` of the step\'s `WorkflowCommandIssued` (attempt 1) to that of the `WorkflowInputAccepted` of its reply. `recordedAt` is the appending transaction\'s `now()`, its start: a consumer page\'s appends share one time, so bulk latencies are quantised by pages.',
    "- **Statements**: counted by wrapping the store's `SqlClient` (bench/statement-counter.ts): each `query` one, each transaction two more (BEGIN, COMMIT). Everything the runner's two subscriptions, the handlers and the timer service sent, divided by steps (a saga's start is counted in its steps). On PostgreSQL each is one round trip. `pg_stat_statements` is not loaded on this server (it needs a restart).",
    '',
    ...tables(rounds),
  ];
  const mdPath = path.join(here, 'results', 'sagas.md');
  const previous = await readFile(mdPath, 'utf8').catch(() => '');
  const notes = previous.indexOf('\n## Notes');
  const text = `${lines.join('\n')}\n${notes >= 0 ? previous.slice(notes) : ''}`;
  console.log(text);
  if (!quick) {
    await writeFile(mdPath, text.endsWith('\n') ? text : `${text}\n`);
    await writeFile(path.join(here, 'results', 'sagas.json'), `${JSON.stringify({ date, command, sagas: SAGAS, single: SINGLE, maxConnections: MAX_CONNECTIONS, loadAverage: { start: loadAtStart, end: loadAtEnd }, rounds }, null, 2)}\n`);
  }
}

await main();
