/**
 * The directory lock under real races: several processes call lockDataDir on one directory in the
 * same instant, round after round, starting from no lock file, from a stale one (a dead PID) and
 * from one that names a live process (a PID reused after a restart). Exactly one may hold it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const RACERS = 4;
const ROUNDS = 60;
const racerScript = fileURLToPath(new URL('../../../test/fixtures/lock-racer.ts', import.meta.url));

interface Reply {
  op: string;
  held?: boolean;
  code?: string;
  text?: string;
}

class Racer {
  readonly child: ChildProcess;
  private readonly replies: Reply[] = [];
  private waiting: ((reply: Reply) => void) | undefined;

  constructor() {
    this.child = fork(racerScript, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: Reply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(reply);
      else this.replies.push(reply);
    });
  }

  /** The next message from the child. */
  next(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.child.once('exit', (code, signal) => reject(new Error(`racer exited (${code ?? signal})`)));
    });
  }

  async request(message: object): Promise<Reply> {
    const reply = this.next();
    this.child.send(message);
    return reply;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

const root = await mkdtemp(join(tmpdir(), 'factum-lock-race-'));
let racers: Racer[] = [];

beforeAll(async () => {
  racers = Array.from({ length: RACERS }, () => new Racer());
  await Promise.all(racers.map(async (racer) => expect(await racer.next()).toEqual({ op: 'ready' })));
});
afterAll(async () => {
  await Promise.all(racers.map((racer) => racer.kill()));
  await rm(root, { recursive: true, force: true });
});

/** One round: every racer tries at the same instant; returns how many got the directory. */
async function race(dir: string, contenders: Racer[] = racers): Promise<{ holders: number; refusals: Reply[] }> {
  const at = Date.now() + 30;
  const replies = await Promise.all(contenders.map((racer) => racer.request({ op: 'lock', dir, at })));
  await Promise.all(contenders.map((racer) => racer.request({ op: 'release' })));
  return { holders: replies.filter((reply) => reply.held).length, refusals: replies.filter((reply) => !reply.held) };
}

const lockFiles: Record<string, (() => string) | undefined> = {
  'no lock file': undefined,
  'a stale lock file (dead PID)': () => '999999999',
  'a lock file naming a live process (reused PID: the test runner)': () => String(process.pid),
  'a lock file naming PID 1': () => '1',
  'an empty lock file': () => '',
};

describe('one holder of an embedded directory among racing processes', () => {
  for (const [start, content] of Object.entries(lockFiles)) {
    it(`${RACERS} processes, ${ROUNDS} rounds, starting from ${start}: exactly one holds it each round`, async () => {
      const counts: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const dir = await mkdtemp(join(root, 'round-'));
        if (content) await writeFile(join(dir, 'factum.lock'), content());
        const { holders, refusals } = await race(dir);
        counts.push(holders);
        for (const refusal of refusals) expect(refusal.code).toBe('STORE_LOCKED');
      }
      expect(counts.filter((holders) => holders !== 1)).toEqual([]);
    });
  }

  it('a holder killed with SIGKILL frees the directory for the next process, round after round', async () => {
    const dir = await mkdtemp(join(root, 'killed-'));
    for (let round = 0; round < 5; round++) {
      const victim = new Racer();
      expect(await victim.next()).toEqual({ op: 'ready' });
      expect(await victim.request({ op: 'lock', dir, at: 0 })).toMatchObject({ held: true });
      expect(await racers[0]!.request({ op: 'lock', dir, at: 0 })).toMatchObject({ held: false, code: 'STORE_LOCKED' });
      await victim.kill();
      const { holders } = await race(dir);
      expect(holders).toBe(1);
    }
  });
});
