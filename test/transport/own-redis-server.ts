/**
 * A redis-server of a test's own, with AOF (`--appendonly yes --appendfsync always`) in a temp
 * dir of its own, so that a test may SIGKILL it and start it again without losing a confirmed
 * entry. The machine's Redis on 6379 keeps nothing on disk (a restart would lose every stream),
 * and other tests use it, so the tests that restart Redis start one of these instead.
 */
import { spawn } from 'node:child_process';
import { ownServer, type OwnServer } from '../own-server.js';

export interface OwnRedisServer extends OwnServer {
  url: string;
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
  const server = ownServer({
    dirPrefix: `factum-redis-aof-${port}-`,
    spawn: (dir) => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' }),
    async answers() {
      const { Redis } = await import('ioredis');
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        return true;
      } finally {
        client.disconnect();
      }
    },
    tries: 500,
    pauseMs: 20,
    whereToLook: (dir) => `redis-server on ${port}, dir ${dir}`,
  });
  return { url, ...server };
}
