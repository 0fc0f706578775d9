/**
 * A nats-server of a test's own with JetStream (`-js -sd <temp dir>`), so that a test may kill
 * it and start it again on the same store dir. The machine's NATS on 4222 is shared by other
 * tests, and 4232-4234 belong to the cluster test (test/nats-cluster.ts): never those ports.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NATS_SERVER } from '../nats-cluster.js';
import { ownServer, type OwnServer } from '../own-server.js';
import { portOpen } from '../services.js';

export interface OwnNatsServer extends OwnServer {
  url: string;
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
  const server = ownServer({
    dirPrefix: `factum-nats-js-${port}-`,
    spawn: (dir) => spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store'), '-l', join(dir, 'server.log')], { stdio: 'ignore' }),
    // Up once JetStream answers an API request (it recovers the streams of the store dir first).
    async answers() {
      if (!(await portOpen(port))) return false;
      const nc = await connect({ servers: url, name: 'own-nats-probe', maxReconnectAttempts: 0 });
      try {
        await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    tries: 300,
    pauseMs: 50,
    whereToLook: (dir) => `nats-server on ${port}, log: ${join(dir, 'server.log')}`,
  });
  return { url, ...server };
}
