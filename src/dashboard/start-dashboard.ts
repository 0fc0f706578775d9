import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FactumError } from '../core/errors.js';
import { createDashboard, type Dashboard, type DashboardOptions } from './create-dashboard.js';

export interface StartDashboardOptions extends DashboardOptions {
  /** 127.0.0.1 by default: the dashboard can retry dead letters, it is not for the network. */
  host?: string;
  /** 0 (any free port) by default. */
  port?: number;
}

/** A dashboard listening on its own server. */
export interface RunningDashboard extends Dashboard {
  /** `http://127.0.0.1:PORT/?token=…`: the link to open. */
  url: string;
  port: number;
}

/**
 * Starts the dashboard on a server of its own (the CLI's `factum dashboard`). `close()` stops
 * the server and the sampling; the store stays open.
 *
 * @example
 * const dashboard = await startDashboard({ store, port: 4400 })
 * console.log(dashboard.url) // http://127.0.0.1:4400/?token=…
 */
export async function startDashboard(options: StartDashboardOptions): Promise<RunningDashboard> {
  const dashboard = createDashboard(options);
  const server = createServer(dashboard.handler);
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (error) {
    await dashboard.close();
    throw new FactumError('INVALID_ARGUMENT', `The dashboard cannot listen on ${host}:${options.port ?? 0}`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    ...dashboard,
    port,
    url: `http://${shownHost}:${port}${dashboard.path}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}
