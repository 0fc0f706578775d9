import type { Command } from 'commander';
import { startDashboard } from '../../dashboard/start-dashboard.js';
import { action, integer } from '../cli-command.js';
import { openCliStore } from '../cli-store.js';
import { loadConfig } from '../load-config.js';

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the dashboard (runners and lag, streams, dead letters, sagas) on 127.0.0.1, behind a token printed with its URL')
    .option('-p, --port <port>', 'the port (0: any free one)', integer('--port'), 0)
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .action(
      action<[], { port: number; host: string }>(async (_args, flags, out) => {
        // The config is optional here: without one the sagas page has nothing to fold, the rest works.
        const config = (await loadConfig(flags.config))?.config;
        const location = flags.db || process.env.FACTUM_DATABASE_URL || config?.db;
        const store = await openCliStore(flags);
        const dashboard = await startDashboard({ store, port: flags.port, host: flags.host, ...(config ? { config } : {}), ...(location ? { location } : {}) });
        // The URL carries the token: it is printed once, for the operator who started it, and never logged.
        out.result({ url: dashboard.url }, () => out.line(`factum dashboard: ${dashboard.url}  (Ctrl-C stops it)`));
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await dashboard.close();
        await store.close();
      }),
    );
}
