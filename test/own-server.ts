/**
 * The process lifecycle of a server a test runs itself (test/transport/own-*-server.ts): a temp
 * dir made at its first start, a SIGKILL that waits for the exit, the kill on the test process's
 * exit whatever happened, and the removal of the dir.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OwnServer {
  /** Starts it (again) on its dir and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILLs it (no shutdown, no last write) and waits for it to be gone; nothing when it is not running. */
  kill(): Promise<void>;
  /** Kills it and removes its dir. */
  remove(): Promise<void>;
}

export interface OwnServerOptions {
  /** The temp dir's name starts with this. */
  dirPrefix: string;
  spawn(dir: string): ChildProcess;
  /** Whether the started server answers (false or a throw: not yet). */
  answers(): Promise<boolean>;
  /** How often to ask, and how long to wait between asks. */
  tries: number;
  pauseMs: number;
  /** Where to look when it does not start (its log or its dir). */
  whereToLook(dir: string): string;
}

export function ownServer(options: OwnServerOptions): OwnServer {
  // Made at the first start: a test that is skipped leaves no dir behind.
  let dir: string | undefined;
  let server: ChildProcess | undefined;
  const killOnExit = (): void => void server?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const kill = async (): Promise<void> => {
    const running = server;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  return {
    async start() {
      dir ??= await mkdtemp(join(tmpdir(), options.dirPrefix));
      const started = options.spawn(dir);
      server = started;
      for (let tries = 0; ; tries++) {
        if (started.exitCode !== null || tries > options.tries) throw new Error(`the server did not start (${options.whereToLook(dir)})`);
        if (await options.answers().catch(() => false)) return;
        await sleep(options.pauseMs);
      }
    },
    kill,
    async remove() {
      await kill();
      process.removeListener('exit', killOnExit);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
