// The `factum` bin as a user runs it: compiled by tsc into a build of its own (test/cli-build.ts),
// spawned as a process, on an embedded
// directory and on PostgreSQL; `--json` output parsed, exit codes and stderr checked.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore } from '../store/open-event-store.js';
import { Subscription } from '../consumers/subscription.js';
import { readModel } from '../projections/read-model.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { buildCli, type CliBuild, type Ran } from '../../test/cli-build.js';

const pgSkip = await postgresUnavailable();
let cli: CliBuild;
let build: string;

beforeAll(async () => {
  cli = await buildCli();
  build = cli.dir;
}, 200_000);
afterAll(() => cli.remove());

function factum(db: string, schema: string | undefined, ...args: string[]): Promise<Ran> {
  return cli.factum(['--db', db, ...(schema ? ['--schema', schema] : []), ...args]);
}

async function json<T>(db: string, schema: string | undefined, ...args: string[]): Promise<T> {
  const ran = await factum(db, schema, ...args, '--json');
  expect(ran.stderr, ran.stderr).toBe('');
  expect(ran.code).toBe(0);
  return JSON.parse(ran.stdout) as T;
}

/** 30 streams of 10 events: `order-<i>` with one flow per stream (correlation = stream, causation = previous event). */
function eventLines(): { lines: string[]; ids: string[][] } {
  const ids: string[][] = [];
  const lines: string[] = [];
  for (let v = 1; v <= 10; v++) {
    for (let s = 0; s < 30; s++) {
      const id = randomUUID();
      (ids[s] ??= []).push(id);
      const metadata = { correlationId: `flow-${s}`, ...(v > 1 ? { causationId: ids[s]![v - 2] } : {}) };
      lines.push(JSON.stringify({ streamId: `${s % 3 === 0 ? 'payment' : 'order'}-${s}`, id, type: v === 1 ? 'Started' : 'Stepped', data: { s, v }, metadata }));
    }
  }
  return { lines, ids };
}

type Location = { name: string; skip?: string; db: () => Promise<string>; schema?: string; cleanup: () => Promise<void> };
const dirs: string[] = [];
const schemas = [uniqueSchema()];
const locations: Location[] = [
  {
    name: 'an embedded directory',
    db: async () => {
      const dir = join(await mkdtemp(join(tmpdir(), 'factum-cli-')), 'store');
      dirs.push(dir);
      return dir;
    },
    cleanup: async () => void (await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))),
  },
  { name: 'PostgreSQL', ...(pgSkip ? { skip: pgSkip } : {}), db: async () => POSTGRES_URL, schema: schemas[0]!, cleanup: () => dropSchemas(schemas) },
];

for (const location of locations) {
  describe.skipIf(location.skip !== undefined)(`factum CLI on ${location.name}${location.skip ? ` (skipped: ${location.skip})` : ''}`, () => {
    let db: string;
    const schema = location.schema;
    const { lines, ids } = eventLines();
    const work = join(tmpdir(), `factum-cli-files-${randomUUID().slice(0, 8)}`);

    beforeAll(async () => {
      db = await location.db();
      await mkdir(work, { recursive: true });
    });
    afterAll(async () => {
      await location.cleanup();
      await rm(work, { recursive: true, force: true });
    });

    it('refuses a store that has no schema yet, then migrations apply brings it up and status says so', async () => {
      const missing = await factum(db, schema, 'streams');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(location.schema ? /migrations apply.*MIGRATIONS_PENDING/ : /No embedded store at .*NOT_FOUND/);
      const applied = await json<{ applied: number[] }>(db, schema, 'migrations', 'apply');
      expect(applied.applied.length).toBeGreaterThanOrEqual(5);
      const status = await json<Array<{ version: number; appliedAt?: string }>>(db, schema, 'migrations', 'status');
      expect(status.every((m) => m.appliedAt)).toBe(true);
      expect((await json<{ applied: number[] }>(db, schema, 'migrations', 'apply')).applied).toEqual([]);
    });

    it('imports JSON lines, and a malformed line fails naming it, with nothing of its batch written', async () => {
      const good = join(work, 'events.jsonl');
      await writeFile(good, lines.join('\n') + '\n');
      const imported = await json<{ events: number; lastPosition: string }>(db, schema, 'import', good);
      expect(imported.events).toBe(300);

      const bad = join(work, 'bad.jsonl');
      const extra = Array.from({ length: 7 }, (_, i) => JSON.stringify({ streamId: `extra-${i}`, type: 'Extra', data: { i } }));
      await writeFile(bad, [...extra.slice(0, 7), '{"streamId": "extra-x", "type": ', extra[0]].join('\n'));
      const failed = await factum(db, schema, 'import', bad, '--batch-size', '5');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/Line 8 is not an event.*5 events of earlier batches were imported.*INVALID_EVENT/);
      const extras = await json<Array<{ streamId: string }>>(db, schema, 'streams', '--category', 'extra');
      // The first batch (lines 1-5) committed; lines 6-7 shared the bad line's batch and are not there.
      expect(extras.map((s) => s.streamId).sort()).toEqual(['extra-0', 'extra-1', 'extra-2', 'extra-3', 'extra-4']);
    });

    it('lists streams by category, reads one forward, backward, by range, and refuses an unknown one', async () => {
      const payments = await json<Array<{ streamId: string; version: number }>>(db, schema, 'streams', '--category', 'payment');
      expect(payments).toHaveLength(10);
      expect(payments.every((s) => s.version === 10)).toBe(true);
      const page = await json<Array<{ streamId: string }>>(db, schema, 'streams', '--category', 'order', '--limit', '5');
      const next = await json<Array<{ streamId: string }>>(db, schema, 'streams', '--category', 'order', '--after', page[4]!.streamId, '--limit', '100');
      expect(page.length + next.length).toBe(20);

      const forward = await json<Array<{ id: string; streamVersion: number; data: { v: number } }>>(db, schema, 'read', 'order-1');
      expect(forward.map((e) => e.id)).toEqual(ids[1]);
      const backward = await json<Array<{ streamVersion: number }>>(db, schema, 'read', 'order-1', '--backward', '--limit', '3');
      expect(backward.map((e) => e.streamVersion)).toEqual([10, 9, 8]);
      const range = await json<Array<{ streamVersion: number }>>(db, schema, 'read', 'order-1', '--from', '4', '--to', '6');
      expect(range.map((e) => e.streamVersion)).toEqual([4, 5, 6]);
      const human = await factum(db, schema, 'read', 'order-1', '--data');
      expect(human.stdout).toMatch(/order-1: version 10, 10 events shown/);
      expect(human.stdout).toContain('"correlationId":"flow-1"');

      const unknown = await factum(db, schema, 'read', 'order-nope');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('factum: No stream "order-nope" [NOT_FOUND]\n');
    });

    it('reads $all after a position with a type filter, and exports it to a file that imports into a fresh store unchanged', async () => {
      const all = await json<Array<{ globalPosition: string; type: string }>>(db, schema, 'all', '--limit', '1000');
      expect(all).toHaveLength(305);
      const after = await json<Array<{ globalPosition: string; type: string }>>(db, schema, 'all', '--after', all[99]!.globalPosition, '--types', 'Started');
      expect(after.every((e) => e.type === 'Started' && BigInt(e.globalPosition) > BigInt(all[99]!.globalPosition))).toBe(true);
      expect(after.length).toBe(all.slice(100).filter((e) => e.type === 'Started').length);

      const file = join(work, 'export.jsonl');
      const exported = await json<{ events: number }>(db, schema, 'export', '--out', file, '--categories', 'order,payment');
      expect(exported.events).toBe(300);
      const copyDb = join(work, 'copy');
      expect((await json<{ events: number }>(copyDb, undefined, 'import', file)).events).toBe(300);
      const copied = await json<Array<{ id: string; type: string; data: unknown; streamId: string }>>(copyDb, undefined, 'all', '--limit', '1000');
      const original = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; type: string; data: unknown; streamId: string });
      expect(copied.map(({ id, type, data, streamId }) => ({ id, type, data, streamId }))).toEqual(original.map(({ id, type, data, streamId }) => ({ id, type, data, streamId })));
    });

    it('shows an event with its causation chain and its correlation', async () => {
      const lineage = await json<{ event: { id: string }; causes: Array<{ id: string }>; correlated: Array<{ id: string }> }>(db, schema, 'event', ids[2]![6]!);
      expect(lineage.event.id).toBe(ids[2]![6]);
      expect(lineage.causes.map((e) => e.id)).toEqual(ids[2]!.slice(0, 6).reverse());
      expect(lineage.correlated.map((e) => e.id)).toEqual(ids[2]);
      const unknown = await factum(db, schema, 'event', randomUUID());
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/No event with id .*NOT_FOUND/);
    });

    it('shows runners with their lag and dead letters, and a dead letter with the events parked behind it', async () => {
      const store = await openEventStore(db, schema ? { schema } : {});
      const subscription = new Subscription(store, {
        name: 'cli-test-sub',
        retry: { immediateRetries: 0, backoffRetries: 0 },
        filter: { categories: ['order'] },
        handler: (event) => {
          if (event.streamId === 'order-4' && event.streamVersion === 3) throw new Error('poison at order-4@3');
        },
      });
      await subscription.start();
      await subscription.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await subscription.stop();
      await store.append('order-1', [{ type: 'Late', data: {} }]);
      await store.close();

      const runners = await json<Array<{ name: string; kind: string; lagEvents: number; deadLetters: number; parked: number }>>(db, schema, 'runners');
      const runner = runners.find((r) => r.name === 'cli-test-sub');
      expect(runner).toMatchObject({ kind: 'subscription', lagEvents: 1, deadLetters: 1, parked: 7 });
      // Judged over a second: lag and no progress (nothing runs it) is stalled.
      const judged = await json<Array<{ name: string; boundState?: string; breached?: boolean }>>(db, schema, 'runners', '--judge', '1');
      expect(judged.find((r) => r.name === 'cli-test-sub')).toMatchObject({ boundState: 'stalled', breached: false });
      expect((await factum(db, schema, 'runners', '--judge', '1')).stdout).toMatch(/cli-test-sub\s+subscription.*\bstalled\b/);

      const letters = await json<Array<{ id: string; status: string; streamId: string }>>(db, schema, 'dead-letters', '--subscription', 'cli-test-sub');
      expect(letters.map((l) => l.status)).toEqual(['dead', ...Array(7).fill('parked')]);
      const shown = await json<{ error: string; attempts: number; parked: Array<{ event: { streamVersion: number } }> }>(db, schema, 'dead-letters', 'show', letters[0]!.id);
      expect(shown.error).toBe('poison at order-4@3');
      expect(shown.parked.map((p) => p.event.streamVersion)).toEqual([4, 5, 6, 7, 8, 9, 10]);
      const human = await factum(db, schema, 'dead-letters', 'show', letters[0]!.id);
      expect(human.stdout).toMatch(/Parked behind it \(7, in order\)/);
    });

    it('lists and rebuilds the projections of a TypeScript config module, and checks its schemas against the committed snapshot', async () => {
      const configDir = join(build, 'config', location.schema ?? 'embedded');
      await mkdir(configDir, { recursive: true });
      const config = (startedShape: string) => `
        import { z } from 'zod';
        import { defineConfig, defineEvent, defineProjection, EventRegistry } from '${join(build, 'dist', 'index.js')}';
        const startedCount = defineProjection({
          name: 'started-count',
          tables: { started: (t: string) => \`CREATE TABLE \${t} (stream_id text PRIMARY KEY, s integer NOT NULL)\` },
          handlers: {
            Started: async (event: { streamId: string; data: { s: number } }, { sql, table }: any) => {
              await sql.query(\`INSERT INTO \${table('started')} VALUES ($1, $2)\`, [event.streamId, event.data.s]);
            },
          },
        });
        const registry = new EventRegistry([defineEvent('Started', ${startedShape}), defineEvent('Stepped', z.object({ s: z.number(), v: z.number() }))]);
        export default defineConfig({ projections: [startedCount], registry, schemaFile: 'events.schema.json' });`;
      const v1 = join(configDir, 'factum.config.ts');
      await writeFile(v1, config('z.object({ s: z.number(), v: z.number() })'));

      const before = await json<Array<{ name: string; mode: string; position?: string }>>(db, schema, '--config', v1, 'projections');
      expect(before).toEqual([{ name: 'started-count', mode: 'async', eventTypes: ['Started'] }]);
      const rebuilt = await json<{ swapped: boolean; eventsDone: number }>(db, schema, '--config', v1, 'projections', 'rebuild', 'started-count', '--batch-size', '7');
      expect(rebuilt).toMatchObject({ swapped: true, eventsDone: 30 });
      const after = await json<Array<{ name: string; position?: string; lagEvents?: number }>>(db, schema, '--config', v1, 'projections');
      expect(after[0]!.position).toBeDefined();
      const store = await openEventStore(db, schema ? { schema } : {});
      // The read model as the projection's handlers name it (a definition with its name is enough for the names).
      const model = readModel(store, { name: 'started-count', handlers: {}, tables: { started: () => '' } } as never);
      const { rows } = await model.query<{ n: string }>(`SELECT count(*) AS n FROM ${model.table('started')}`);
      await store.close();
      expect(Number(rows[0]!.n)).toBe(30);
      const unknown = await factum(db, schema, '--config', v1, 'projections', 'rebuild', 'nope');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/No projection "nope" in the config \(it has: started-count\)/);

      expect((await json<{ compatible: boolean; written: boolean }>(db, schema, '--config', v1, 'schema', 'update'))).toMatchObject({ compatible: true, written: true });
      expect((await json<{ compatible: boolean }>(db, schema, '--config', v1, 'schema', 'check')).compatible).toBe(true);
      const v2 = join(configDir, 'factum.config.broken.ts');
      await writeFile(v2, config('z.object({ s: z.string(), v: z.number() })'));
      const broken = await factum(db, schema, '--config', v2, 'schema', 'check');
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/breaking: Started/);
      const none = await factum(db, schema, '--config', join(configDir, 'missing.ts'), 'projections');
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/No config module at .*NOT_FOUND/);
    });

    it('lists the instances of a config\'s workflow by status, and shows one with its log and pending timer', async () => {
      const configDir = join(build, 'config', `sagas-${location.schema ?? 'embedded'}`);
      await mkdir(configDir, { recursive: true });
      const configFile = join(configDir, 'factum.config.ts');
      // Four flows start an instance each: an even one completes at once, an odd one waits for an hour's timer.
      await writeFile(
        configFile,
        `import { complete, defineConfig, defineWorkflow, schedule } from '${join(build, 'dist', 'index.js')}';
        export const flow = defineWorkflow<object, { type: 'FlowStarted'; data: { n: number } }>({
          name: 'cliflow',
          inputs: ['FlowStarted'],
          id: (event) => String(event.data.n),
          initialState: () => ({}),
          evolve: (state) => state,
          decide: (input) => (input.type === 'FlowStarted' && input.data.n % 2 === 0 ? [complete('even')] : [schedule('later', { afterMs: 3_600_000 })]),
        });
        export default defineConfig({ workflows: [flow] });`,
      );
      // The same build the bin runs: its store and runner, with the config's own workflow.
      const dist = (await import(join(build, 'dist', 'index.js'))) as typeof import('../index.js');
      const { flow } = (await import(configFile)) as { flow: ConstructorParameters<typeof dist.WorkflowRunner>[1] };
      const store = await dist.openEventStore(db, schema ? { schema } : {});
      for (let n = 0; n < 4; n++) await store.append(`flow-${n}`, [{ type: 'FlowStarted', data: { n } }]);
      const runner = await new dist.WorkflowRunner(store, flow, { handlers: {} }).start();
      await runner.waitFor(await store.headPosition(), { timeoutMs: 30_000 });
      await runner.stop();
      await store.close();

      const all = await json<Array<{ instanceId: string; status: string }>>(db, schema, '--config', configFile, 'sagas');
      expect(all.map((r) => `${r.instanceId}:${r.status}`).sort()).toEqual(['0:completed', '1:running', '2:completed', '3:running']);
      const running = await json<Array<{ instanceId: string }>>(db, schema, '--config', configFile, 'sagas', 'list', '--status', 'running');
      expect(running.map((r) => r.instanceId).sort()).toEqual(['1', '3']);
      const shown = await json<{ status: string; log: Array<{ type: string }>; timers: Array<{ timer: string }>; locks: unknown[] }>(db, schema, '--config', configFile, 'sagas', 'show', 'cliflow', '1');
      expect(shown.status).toBe('running');
      expect(shown.log.map((e) => e.type)).toContain('WorkflowInputAccepted');
      expect(shown.timers.map((t) => t.timer)).toEqual(['later']);
      expect(shown.locks).toEqual([]);
      const human = await factum(db, schema, '--config', configFile, 'sagas', 'show', 'cliflow', '1');
      expect(human.stdout).toMatch(/later due /);
      const missing = await factum(db, schema, '--config', configFile, 'sagas', 'show', 'cliflow', '99');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/Workflow "cliflow" has no instance "99".*NOT_FOUND/);
      const unknown = await factum(db, schema, '--config', configFile, 'sagas', '--workflow', 'nope');
      expect(unknown.stderr).toMatch(/No workflow "nope" in the config \(it has: cliflow\)/);
    });

    it('exits 2 on a wrong command line, 1 with the code on a store it cannot open, and errors as JSON with --json', async () => {
      const usage = await factum(db, schema, 'read', 'order-1', '--limit', 'ten');
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/--limit must be a whole number/);
      expect((await factum(db, schema, 'no-such-command')).code).toBe(2);
      const badUrl = await factum('mysql://root@127.0.0.1/x', undefined, 'streams');
      expect(badUrl.code).toBe(1);
      expect(badUrl.stderr).toMatch(/INVALID_ARGUMENT/);
      const unreachable = await factum('postgres://nobody:secret@127.0.0.1:1/x', undefined, 'streams', '--json');
      expect(unreachable.code).toBe(1);
      const error = JSON.parse(unreachable.stderr) as { error: { code: string; message: string } };
      expect(error.error.code).toBe('CONNECTION_FAILED');
      expect(unreachable.stderr).not.toContain('secret');
    });
  });
}
