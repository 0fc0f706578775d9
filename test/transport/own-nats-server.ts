/**
 * A nats-server of a test's own with JetStream (`-js -sd <temp dir>`), so that a test may kill
 * it and start it again on the same store dir. The machine's NATS on 4222 is shared by other
 * tests, and 4232-4234 belong to the cluster test (test/nats-cluster.ts): never those ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER } from '../nats-cluster.js';
import { portOpen } from '../services.js';

export interface OwnNatsServer {
  url: string;
  /** Starts it (again) on its store dir and waits until JetStream answers. */
  start(): Promise<void>;
  /** SIGKILLs it (no shutdown, no last flush) and waits for it to be gone; nothing when it is not running. */
  kill(): Promise<void>;
  /** Kills it and removes its store dir. */
  remove(): Promise<void>;
}

/** Why a server of its own cannot run on `port`, or undefined. */
export async function ownNatsServerUnavailable(port: number): Promise<string | undefined> {
  if (!(await access(NATS_SERVER).then(() => true, () => false))) return `no nats-server at ${NATS_SERVER}`;
  if (await portOpen(port)) return `port ${port} is taken (the test starts a nats-server of its own there)`;
  return undefined;
}

/**
 * A server to be started with `start()` (which makes its store dir). Killed when the test process exits, whatever happened.
 *
 * @example
 * const nats = await ownNatsServer(4252)
 * await nats.start(); await nats.kill(); await nats.start() // the streams are back from the store dir
 * await nats.remove()
 */
export async function ownNatsServer(port: number): Promise<OwnNatsServer> {
  const url = `nats://127.0.0.1:${port}`;
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
      dir ??= await mkdtemp(join(tmpdir(), `factum-nats-js-${port}-`));
      const started = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store'), '-l', join(dir, 'server.log')], { stdio: 'ignore' });
      server = started;
      for (let tries = 0; ; tries++) {
        if (started.exitCode !== null || tries > 300) throw new Error(`nats-server on ${port} did not start (log: ${join(dir, 'server.log')})`);
        // Up once JetStream answers an API request (it recovers the streams of the store dir first).
        const up = await (async () => {
          if (!(await portOpen(port))) return false;
          const nc = await connect({ servers: url, name: 'own-nats-probe', maxReconnectAttempts: 0 });
          try {
            await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
            return true;
          } finally {
            await nc.close();
          }
        })().catch(() => false);
        if (up) return;
        await sleep(50);
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
