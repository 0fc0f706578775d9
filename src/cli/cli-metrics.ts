import type { EventStore } from '../core/event-store.js';
import { prometheusMetrics } from '../observability/prometheus-metrics.js';
import { StoreRunnerMetrics } from '../observability/store-runner-metrics.js';
import type { BoundReport } from '../observability/consistency-bound.js';
import type { FactumConfig } from './factum-config.js';

/** The `/metrics` of a CLI process: Prometheus text of the runners the store's tables show. */
export interface CliMetrics {
  /** Reads the tables, then renders: the lag served is the lag at scrape time. */
  text(): Promise<string>;
  close(): Promise<void>;
  /** The bound states of the config's `bounds`, as judged from the tables (for the dashboard's overview). */
  reports(): BoundReport[];
}

/**
 * The metrics `factum serve` and `factum dashboard` serve. The CLI hosts no runner, so what it
 * serves is what the tables say of the runners of every process (`StoreRunnerMetrics`), under
 * the names those processes export. Needs the Prometheus peers (`DRIVER_MISSING` names the one absent).
 */
export async function openCliMetrics(store: EventStore, config: FactumConfig | undefined): Promise<CliMetrics> {
  const prometheus = await prometheusMetrics();
  const runners = new StoreRunnerMetrics(store, {
    ...(config?.bounds ? { bounds: config.bounds } : {}),
    projections: [...(config?.projections ?? []), ...(config?.inlineProjections ?? [])].map((p) => p.name),
  }).start();
  return {
    async text() {
      // A database that is away leaves the last reading on the page; /healthz says it is away.
      await runners.refresh().catch(() => {});
      return prometheus.text();
    },
    reports: () => runners.reports(),
    async close() {
      await runners.stop();
      await prometheus.shutdown();
    },
  };
}
