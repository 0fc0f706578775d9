import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import type { EventStore } from '../../core/event-store.js';
import { serveMetrics, type MetricsSource } from '../../dashboard/serve-metrics.js';
import { headerToken, tokenMatcher } from '../../dashboard/token-matcher.js';
import { action, integer, untilStopped } from '../cli-command.js';
import { openCliMetrics } from '../cli-metrics.js';
import { openCliStore } from '../cli-store.js';
import { loadConfig } from '../load-config.js';

/** The port of OpenTelemetry's Prometheus exporter: where a scrape job for an OpenTelemetry process looks first. */
const DEFAULT_PORT = 9464;

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      `Serve /metrics (Prometheus text: every runner's lag, dead letters and bound state, read from the tables) and /healthz until stopped; ` +
        `with $FACTUM_METRICS_TOKEN set, /metrics needs it as a bearer token`,
    )
    .option('-p, --port <port>', `the port (0: any free one)`, integer('--port'), DEFAULT_PORT)
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .action(
      action<[], { port: number; host: string }>(async (_args, flags, out) => {
        const config = (await loadConfig(flags.config))?.config;
        // From the environment, not a flag: a flag's value shows in `ps` to every user of the machine.
        const token = process.env.FACTUM_METRICS_TOKEN || undefined;
        if (!token && !isLoopback(flags.host)) out.note(`factum serve: /metrics on ${flags.host} is open to anyone who reaches it; set FACTUM_METRICS_TOKEN to require a bearer token`);
        const store = await openCliStore(flags);
        try {
          const metrics = await openCliMetrics(store, config);
          try {
            const server = await listen(handler(store, metrics, token), flags.host, flags.port);
            const { port } = server.address() as AddressInfo;
            const origin = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`;
            out.result({ url: `${origin}/metrics`, healthz: `${origin}/healthz`, token: token ? 'required' : 'none' }, () =>
              out.line(`factum serve: ${origin}/metrics${token ? ' (bearer token: $FACTUM_METRICS_TOKEN)' : ''}, ${origin}/healthz  (Ctrl-C stops it)`),
            );
            await untilStopped();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
          } finally {
            await metrics.close();
          }
        } finally {
          await store.close();
        }
      }),
    );
}

function handler(store: EventStore, metrics: MetricsSource, token: string | undefined) {
  const matches = token ? tokenMatcher(token) : () => true;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://serve').pathname;
    if (path === '/metrics') return serveMetrics(req, res, matches(headerToken(req)), metrics, 'the token in $FACTUM_METRICS_TOKEN');
    if (path === '/healthz') {
      // Open to probes (they carry no token) and it tells nothing but whether the store answers.
      const healthy = await store.headPosition().then(
        () => true,
        () => false,
      );
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(healthy ? 'ok\n' : 'the store does not answer\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('factum serve has /metrics and /healthz\n');
  };
  return (req: IncomingMessage, res: ServerResponse) =>
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${error instanceof Error ? error.message : String(error)}\n`);
    });
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number) {
  const server = createServer(handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    throw new FactumError('INVALID_ARGUMENT', `factum serve cannot listen on ${host}:${port}: ${(error as Error).message}`, { cause: error });
  }
  return server;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
