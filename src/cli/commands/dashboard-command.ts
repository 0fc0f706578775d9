import type { Command } from 'commander';
import { FactumError, isFactumError } from '../../core/errors.js';
import { startDashboard } from '../../dashboard/start-dashboard.js';
import { action, integer, untilStopped } from '../cli-command.js';
import { openCliMetrics, type CliMetrics } from '../cli-metrics.js';
import { openCliStore } from '../cli-store.js';
import { loadConfig } from '../load-config.js';

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the dashboard (runners and lag, streams, dead letters, sagas) and /metrics on 127.0.0.1, behind a token printed with its URL ($FACTUM_DASHBOARD_TOKEN to fix it)')
    .option('-p, --port <port>', 'the port (0: any free one)', integer('--port'), 0)
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .action(
      action<[], { port: number; host: string }>(async (_args, flags, out) => {
        // The config is optional here: without one the sagas page has nothing to fold, the rest works.
        const config = (await loadConfig(flags.config))?.config;
        const location = flags.db || process.env.FACTUM_DATABASE_URL || config?.db;
        // A token fixed by the operator lets a Prometheus scrape job keep its bearer token across restarts.
        const token = process.env.FACTUM_DASHBOARD_TOKEN || undefined;
        if (token !== undefined && token.length < 32) throw new FactumError('INVALID_ARGUMENT', 'FACTUM_DASHBOARD_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`): it guards retry and skip of dead letters');
        const store = await openCliStore(flags);
        let metrics: CliMetrics | undefined;
        try {
          metrics = await openCliMetrics(store, config);
        } catch (error) {
          // The page works without the Prometheus peers; only /metrics is missing, and the operator is told why.
          if (!isFactumError(error) || error.code !== 'DRIVER_MISSING') throw error;
          out.note(`factum dashboard: no /metrics (${error.message})`);
        }
        try {
          const dashboard = await startDashboard({ store, port: flags.port, host: flags.host, ...(config ? { config } : {}), ...(location ? { location } : {}), ...(token ? { token } : {}), ...(metrics ? { metrics, bounds: metrics } : {}) });
          // The URL carries the token: it is printed once, for the operator who started it, and never logged.
          out.result({ url: dashboard.url }, () => out.line(`factum dashboard: ${dashboard.url}  (Ctrl-C stops it)`));
          await untilStopped();
          await dashboard.close();
        } finally {
          await metrics?.close();
          await store.close();
        }
      }),
    );
}
