import type { Decider } from '../domain/decider.js';
import type { ConsistencyBound } from '../observability/consistency-bound.js';
import type { Projection } from '../projections/projection.js';
import type { EventRegistry } from '../schema/event-registry.js';
import type { Workflow } from '../sagas/workflow.js';

/**
 * What the `factum` CLI cannot find in the database: your code. A module (`factum.config.ts`,
 * `.mts`, `.js` or `.mjs` in the working directory, or `--config <file>`) whose default export
 * names the projections the CLI may rebuild, the registry whose schemas it checks, the
 * workflows (sagas) it shows, and where the store is. A `.ts` config is loaded with `tsx` (a dev dependency of yours: `npm i -D tsx`).
 *
 * @example
 * // factum.config.ts
 * import { defineConfig } from 'factum'
 * import { orderTotals } from './src/read-models/order-totals.js'
 * import { registry } from './src/events.js'
 * export default defineConfig({ db: process.env.DATABASE_URL, projections: [orderTotals], registry })
 */
export interface FactumConfig {
  /** The store, when neither `--db` nor `FACTUM_DATABASE_URL` is given. */
  db?: string;
  /** Its database schema, when `--schema` is not given. */
  schema?: string;
  /** Projections run by a `ProjectionRunner`: listed and rebuilt by `factum projections`. */
  projections?: Projection[];
  /** Projections run inline (`InlineProjections`): rebuilt with the inline swap. */
  inlineProjections?: Projection[];
  /** The event types whose schemas `factum schema check` compares with the committed snapshot. */
  registry?: EventRegistry;
  /** The committed snapshot; `events.schema.json` (beside the config) by default. */
  schemaFile?: string;
  /** Workflows, sagas and process managers: listed and shown by `factum sagas` (their state is the fold of their logs). */
  workflows?: Array<Workflow<any, any, any, any>>;
  /**
   * Consistency bounds by runner name, judged by `factum serve` and `factum dashboard` from the
   * tables (`factum_consistency_state`, `factum_consistency_breaches_total` on their `/metrics`).
   */
  bounds?: Record<string, ConsistencyBound>;
  /**
   * Deciders by stream category (`{ order: orderDecider }`): the dashboard folds a stream of
   * that category into its state at any version and shows what each event changed.
   */
  deciders?: Record<string, Decider<any, any, any>>;
}

/**
 * Types a config module's default export (and returns it as it is).
 *
 * @example
 * export default defineConfig({ projections: [orderTotals], registry })
 */
export function defineConfig(config: FactumConfig): FactumConfig {
  return config;
}
