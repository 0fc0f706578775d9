/**
 * A redis-server of a test's own, with AOF (`--appendonly yes --appendfsync always`) in a temp
 * dir of its own, so that a test may SIGKILL it and start it again without losing a confirmed
 * entry. The machine's Redis on 6379 keeps nothing on disk (a restart would lose every stream),
 * and other tests use it, so the tests that restart Redis start one of these instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OwnRedisServer {
  url: string;
  /** Starts it (again) on its dir and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGKILLs it (no shutdown, no last write) and waits for it to be gone; nothing when it is not running. */
  kill(): Promise<void>;
  /** Kills it and removes its dir. */
  remove(): Promise<void>;
}

/**
 * A server to be started with `start()` (which makes its dir). Killed when the test process exits, whatever happened.
 *
 * @example
 * const redis = await ownRedisServer(6391)
 * await redis.start(); await redis.kill(); await redis.start() // the streams are back from the AOF
 * await redis.remove()
 */
export async function ownRedisServer(port: number): Promise<OwnRedisServer> {
  const url = `redis://127.0.0.1:${port}`;
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
    url,
    async start() {
      dir ??= await mkdtemp(join(tmpdir(), `factum-redis-aof-${port}-`));
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
      server = started;
      const { Redis } = await import('ioredis');
      for (let tries = 0; ; tries++) {
        if (started.exitCode !== null || tries > 500) throw new Error(`redis-server on ${port} did not start (dir ${dir})`);
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => {});
        const up = await client.connect().then(() => client.ping()).then(() => true, () => false);
        client.disconnect();
        if (up) return;
        await sleep(20);
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
