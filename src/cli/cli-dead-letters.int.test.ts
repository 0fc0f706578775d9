// `factum dead-letters retry|skip` as an operator runs them: an owner process runs a subscription
// and a broker consumer (a relay to the memory broker, and an EventConsumer with the store) whose
// handlers failed and dead-lettered; the built bin, another process, asks and reports. On
// PostgreSQL both run at once; an embedded directory is held by its owner, so there the CLI says
// who holds it, and a request made while the owner is stopped is carried out at its next start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStore } from '../store/open-event-store.js';
import { dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { eventually } from '../../test/runner-suites/helpers.js';
import { buildCli, type CliBuild, type Ran } from '../../test/cli-build.js';

const pgSkip = await postgresUnavailable();
let cli: CliBuild;

beforeAll(async () => {
  cli = await buildCli();
  await writeFile(join(cli.dir, 'owner.mjs'), ownerScript(join(cli.dir, 'dist', 'index.js')));
}, 200_000);
afterAll(() => cli?.remove());

/**
 * The owner: a subscription over categories a, b, d, e and a consumer of topic c (fed by a relay),
 * each failing for a stream while `<work>/broken-<stream>` exists, at once (no retries), hanging
 * on a stream's event while `<work>/hang-<stream>` exists, and
 * writing each event it handles to `<work>/handled.log` as `<runner> <stream>@<version>`.
 */
function ownerScript(factum: string): string {
  return `
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventConsumer, MemoryBroker, Relay, Subscription, openEventStore } from ${JSON.stringify(factum)};
const [db, schema, work] = process.argv.slice(2);
const store = await openEventStore(db, schema ? { schema } : {});
const noRetry = { immediateRetries: 0, backoffRetries: 0 };
const check = async (runner, event) => {
  while (existsSync(join(work, 'hang-' + event.streamId))) await new Promise((resolve) => setTimeout(resolve, 50));
  if (existsSync(join(work, 'broken-' + event.streamId))) {
    appendFileSync(join(work, 'failed.log'), runner + ' ' + event.streamId + '@' + event.streamVersion + '\\n');
    throw Object.assign(new Error(runner + ' cannot handle ' + event.streamId + '@' + event.streamVersion), { code: 'BROKEN' });
  }
  appendFileSync(join(work, 'handled.log'), runner + ' ' + event.streamId + '@' + event.streamVersion + '\\n');
};
const broker = new MemoryBroker();
const sub = new Subscription(store, { name: 'owner-sub', filter: { categories: ['a', 'b', 'd', 'e'] }, retry: noRetry, pollIntervalMs: 200, handler: (e) => check('sub', e) });
const relay = new Relay(store, { name: 'owner-relay', broker, filter: { categories: ['c'] } });
const consumer = new EventConsumer({ name: 'owner-consumer', broker, topic: 'c', store, retry: noRetry, handler: (e) => check('consumer', e) });
await consumer.start();
await relay.start();
await sub.start();
process.stdout.write('ready\\n');
process.on('SIGTERM', async () => {
  await sub.stop();
  await relay.stop();
  await consumer.stop();
  await store.close();
  process.exit(0);
});
`;
}

type Location = { name: string; skip?: string; db: () => Promise<string>; schema?: string; shared: boolean };
const schemas = [uniqueSchema()];
const dirs: string[] = [];
const locations: Location[] = [
  { name: 'PostgreSQL', ...(pgSkip ? { skip: pgSkip } : {}), db: async () => POSTGRES_URL, schema: schemas[0]!, shared: true },
  {
    name: 'an embedded directory',
    db: async () => {
      const dir = join(await mkdtemp(join(tmpdir(), 'factum-dl-')), 'store');
      dirs.push(dir);
      return dir;
    },
    shared: false,
  },
];
afterAll(async () => {
  if (!pgSkip) await dropSchemas(schemas);
  await Promise.all(dirs.map((d) => rm(join(d, '..'), { recursive: true, force: true })));
});

interface Letter {
  id: string;
  subscription: string;
  status: string;
  streamId: string;
}
interface Outcome {
  outcome: string;
  request: { id: string; action: string; status: string; handled?: number; remaining?: number; error?: string; errorCode?: string; claimedBy?: string };
}

for (const location of locations) {
  describe.skipIf(location.skip !== undefined)(`factum dead-letters retry and skip on ${location.name}${location.skip ? ` (skipped: ${location.skip})` : ''}`, () => {
    let db: string;
    let work: string;
    const owners: ChildProcess[] = [];
    const factum = (...args: string[]): Promise<Ran> => cli.factum(['--db', db, ...(location.schema ? ['--schema', location.schema] : []), ...args]);
    const json = async <T>(...args: string[]): Promise<{ ran: Ran; value: T }> => {
      const ran = await factum(...args, '--json');
      return { ran, value: JSON.parse(ran.stdout || 'null') as T };
    };
    const letters = async (): Promise<Letter[]> => {
      const { ran, value } = await json<Letter[]>('dead-letters');
      expect(ran.code, ran.stderr).toBe(0);
      return value;
    };
    const handled = async (runner: string, streamId: string): Promise<string[]> =>
      (await readFile(join(work, 'handled.log'), 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l.startsWith(`${runner} ${streamId}@`))
        .map((l) => l.slice(runner.length + 1));

    /** Starts the owner process and resolves once its runners run. */
    async function startOwner(): Promise<ChildProcess> {
      const owner = spawn(process.execPath, [join(cli.dir, 'owner.mjs'), db, location.schema ?? '', work], { stdio: ['ignore', 'pipe', 'pipe'] });
      owners.push(owner);
      let stderr = '';
      owner.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        owner.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        owner.once('exit', (code) => reject(new Error(`the owner exited (${code}): ${stderr}`)));
      });
      return owner;
    }
    async function stopOwner(owner: ChildProcess): Promise<void> {
      const exited = new Promise((resolve) => owner.once('exit', resolve));
      owner.kill('SIGTERM');
      await exited;
    }

    beforeAll(async () => {
      db = await location.db();
      work = await mkdtemp(join(tmpdir(), 'factum-dl-work-'));
      // The store and its schema exist before the owner opens it (the CLI never creates one by accident).
      const store = await openEventStore(db, location.schema ? { schema: location.schema } : {});
      await store.close();
    });
    afterAll(async () => {
      for (const owner of owners) if (owner.exitCode === null) owner.kill('SIGKILL');
      await rm(work, { recursive: true, force: true });
    });

    /** Appends through a store of this process: on PostgreSQL beside the owner, on an embedded directory while it is stopped. */
    async function append(streams: string[]): Promise<void> {
      const store = await openEventStore(db, location.schema ? { schema: location.schema } : {});
      try {
        for (const s of streams) await store.append(s, [1, 2, 3].map((n) => ({ type: `Step${n}`, data: { n } })));
      } finally {
        await store.close();
      }
    }

    it(
      location.shared
        ? 'retries a subscription\'s and a broker consumer\'s dead letters through the running owner (their parked events follow, in order), skips one, reports a retry that fails again, and a request nobody takes is pending (exit 3) until the owner starts'
        : 'names the process that holds the directory while the owner runs; a retry and a skip asked for while it is stopped are carried out at its next start',
      async () => {
        for (const s of ['a-1', 'b-1', 'c-1', 'd-1']) await writeFile(join(work, `broken-${s}`), '');
        if (!location.shared) await append(['a-1', 'b-1', 'c-1', 'd-1']);
        let owner = await startOwner();
        if (location.shared) await append(['a-1', 'b-1', 'c-1', 'd-1']);
        if (!location.shared) {
          // The owner holds the directory: its failure log says when it dead-lettered the four (once each: no retries).
          await eventually(async () => (await readFile(join(work, 'failed.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length === 4, 30_000, 'four failures');
          const refused = await factum('dead-letters', 'retry', '1');
          expect(refused.code).toBe(1);
          expect(refused.stderr).toMatch(/already open in another process or worker thread \(its lock file names process \d+\).*cannot run beside the runner.*\[STORE_LOCKED\]/s);
          expect(refused.stderr).toContain(`process ${owner.pid}`);
          await stopOwner(owner);
        } else {
          await eventually(async () => (await letters()).filter((l) => l.status === 'dead').length === 4, 30_000, 'four dead letters');
        }
        const all = await letters();
        const dead = (runner: string, streamId: string) => all.find((l) => l.subscription === runner && l.streamId === streamId && l.status === 'dead')!.id;
        expect(all.filter((l) => l.status === 'dead').map((l) => `${l.subscription} ${l.streamId}`).sort()).toEqual(['consumer:owner-consumer c-1', 'owner-sub a-1', 'owner-sub b-1', 'owner-sub d-1']);

        for (const s of ['a-1', 'b-1', 'c-1']) await unlink(join(work, `broken-${s}`));
        if (location.shared) {
          const retried = await json<Outcome>('dead-letters', 'retry', dead('owner-sub', 'a-1'), '--wait', '30');
          expect(retried.ran.code, retried.ran.stderr).toBe(0);
          expect(retried.value).toMatchObject({ outcome: 'succeeded', request: { action: 'retry', handled: 3, remaining: 0 } });
          expect(retried.value.request.claimedBy).toMatch(new RegExp(`:${owner.pid}$`));
          expect(await handled('sub', 'a-1')).toEqual(['a-1@1', 'a-1@2', 'a-1@3']);

          const consumed = await factum('dead-letters', 'retry', dead('consumer:owner-consumer', 'c-1'));
          expect(consumed.code, consumed.stderr).toBe(0);
          expect(consumed.stdout).toMatch(/^Retried dead letter \d+ of consumer:owner-consumer \(stream c-1, event [0-9a-f-]+\) by .*:\d+: 3 handled, 0 still held; the stream flows again\.$/m);
          expect(await handled('consumer', 'c-1')).toEqual(['c-1@1', 'c-1@2', 'c-1@3']);

          const skipped = await factum('dead-letters', 'skip', dead('owner-sub', 'b-1'));
          expect(skipped.code, skipped.stderr).toBe(0);
          expect(skipped.stdout).toMatch(/^Skipped dead letter \d+ of owner-sub \(stream b-1/m);
          expect(skipped.stdout).toMatch(/^The events parked behind it were handled by .*: 2 handled, 0 still held\.$/m);
          expect(await handled('sub', 'b-1')).toEqual(['b-1@2', 'b-1@3']);

          const again = await json<Outcome>('dead-letters', 'retry', dead('owner-sub', 'd-1'));
          expect(again.ran.code).toBe(1);
          expect(again.value).toMatchObject({ outcome: 'failed', request: { handled: 0, remaining: 3, error: 'sub cannot handle d-1@1', errorCode: 'BROKEN' } });
          const human = await factum('dead-letters', 'retry', dead('owner-sub', 'd-1'));
          expect(human.code).toBe(1);
          expect(human.stdout).toMatch(/failed by .*: \[BROKEN\] sub cannot handle d-1@1 \(0 handled, 3 still held\)\./);

          await stopOwner(owner);
        }

        // No owner runs now: the retry stays asked for (exit 3), the skip is done in the database.
        await unlink(join(work, 'broken-d-1'));
        const pending = await json<Outcome>('dead-letters', 'retry', dead('owner-sub', 'd-1'), '--wait', '1');
        expect(pending.ran.code).toBe(3);
        expect(pending.value).toMatchObject({ outcome: 'pending', request: { status: 'pending' } });
        const human = await factum('dead-letters', 'retry', dead('owner-sub', 'd-1'), '--wait', '0');
        expect(human.code).toBe(3);
        expect(human.stdout).toMatch(/is pending \(request \d+\): no running owner took it within 0 s\. It stays asked for/);
        if (!location.shared) {
          const skipped = await factum('dead-letters', 'skip', dead('owner-sub', 'b-1'), '--wait', '0');
          expect(skipped.code, skipped.stderr).toBe(0);
          expect(skipped.stdout).toMatch(/No running owner took the events parked behind it within 0 s \(request \d+\): they flow, in order, when owner-sub next runs\./);
          const consumer = await json<Outcome>('dead-letters', 'retry', dead('consumer:owner-consumer', 'c-1'), '--wait', '0');
          expect(consumer.ran.code).toBe(3);
        }

        owner = await startOwner();
        if (location.shared) {
          await eventually(async () => (await handled('sub', 'd-1')).length === 3, 30_000, 'd-1 handled after the restart');
        } else {
          // The owner holds the directory: watch its log, then stop it to look.
          await eventually(async () => (await handled('sub', 'd-1')).length === 3 && (await handled('consumer', 'c-1')).length === 3 && (await handled('sub', 'b-1')).length === 2, 30_000, 'the requests carried out');
          await stopOwner(owner);
          expect(await handled('sub', 'a-1')).toEqual([]);
          expect(await handled('consumer', 'c-1')).toEqual(['c-1@1', 'c-1@2', 'c-1@3']);
          expect(await handled('sub', 'b-1')).toEqual(['b-1@2', 'b-1@3']);
        }
        expect(await handled('sub', 'd-1')).toEqual(['d-1@1', 'd-1@2', 'd-1@3']);
        await eventually(async () => (await letters()).filter((l) => l.streamId !== 'a-1').length === 0, 20_000, 'no dead letters left');
        if (location.shared) {
          expect(await letters()).toEqual([]);
          await stopOwner(owner);
        }
      },
      180_000,
    );

    // Two owners at once need a shared database: PostgreSQL only.
    if (location.shared) it(
      'takes over a retry whose owner was SIGKILLed while carrying it out: its claim lapses, and the next owner handles the stream, each event once',
      async () => {
        await writeFile(join(work, 'broken-e-1'), '');
        const owner = await startOwner();
        await append(['e-1']);
        await eventually(async () => (await letters()).some((l) => l.streamId === 'e-1' && l.status === 'dead'), 30_000, 'the dead letter of e-1');
        const id = (await letters()).find((l) => l.streamId === 'e-1' && l.status === 'dead')!.id;
        await unlink(join(work, 'broken-e-1'));
        await writeFile(join(work, 'hang-e-1'), '');
        const asked = await json<Outcome>('dead-letters', 'retry', id, '--wait', '0');
        expect(asked.ran.code).toBe(3);
        const request = async () => {
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          try {
            return (await client.query<{ status: string; claimed_by: string | null; handled: number | null }>(`SELECT status, claimed_by, handled FROM "${location.schema}".dead_letter_requests WHERE id = $1`, [asked.value.request.id])).rows[0]!;
          } finally {
            await client.end();
          }
        };
        await eventually(async () => (await request()).status === 'running', 20_000, 'the owner claims the retry');
        expect((await request()).claimed_by).toMatch(new RegExp(`:${owner.pid}$`));
        const killed = new Promise((resolve) => owner.once('exit', resolve));
        owner.kill('SIGKILL');
        await killed;
        await unlink(join(work, 'hang-e-1'));
        const next = await startOwner();
        // The claim lapses ABANDONED_CLAIM_MS (10 s) after the killed owner last renewed it.
        await eventually(async () => (await request()).status === 'succeeded', 40_000, 'the next owner carries the retry out');
        expect(await request()).toMatchObject({ claimed_by: expect.stringMatching(new RegExp(`:${next.pid}$`)), handled: 3 });
        expect(await handled('sub', 'e-1')).toEqual(['e-1@1', 'e-1@2', 'e-1@3']);
        expect((await letters()).filter((l) => l.streamId === 'e-1')).toEqual([]);
        // The owner's broker consumer reports itself where the CLI reads runners: it has no checkpoint.
        const { value: runners } = await json<Array<{ name: string; kind: string; state: string; reportedBy: string; details: Record<string, string> }>>('runners');
        expect(runners.find((r) => r.name === 'owner-consumer')).toMatchObject({ kind: 'consumer', state: 'running', reportedBy: expect.stringMatching(new RegExp(`:${next.pid}$`)), details: { topic: 'c', group: 'owner-consumer', system: 'memory' } });
        const table = await factum('runners');
        expect(table.stdout).toMatch(/owner-consumer\s+consumer\s+memory c\/owner-consumer/);
        await stopOwner(next);
        const { value: after } = await json<Array<{ name: string; state: string }>>('runners');
        expect(after.find((r) => r.name === 'owner-consumer')?.state).toBe('stopped');
      },
      120_000,
    );
  });
}
