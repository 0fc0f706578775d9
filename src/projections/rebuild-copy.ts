import { CheckpointKeeper } from '../consumers/checkpoint-keeper.js';
import { consumerStorageFor } from '../consumers/consumer-storage.js';
import { resetCheckpoint } from '../consumers/sql-checkpoints.js';
import type { EventStore } from '../core/event-store.js';
import type { SqlQueryable } from '../core/sql-queryable.js';
import type { SqlAccess } from '../store/sql-access.js';
import { ensureProjectionTables } from './projection-runner.js';
import { applyProjection, tableNamer, type Projection } from './projection.js';
import type { RebuildOptions, RebuildProgress } from './rebuild.js';

/** A page of `$all` as `readAllPage` returns it. */
export type RebuildPage = Awaited<ReturnType<EventStore['readAllPage']>>;

/**
 * The fresh copy of a projection's tables (`<table>__rebuild`) that a rebuild fills, with its own
 * checkpoint (`<projection>::rebuild`) and its progress. Both phases work on it: the replay
 * fills it batch by batch, the swap brings it to the live read model and renames it in.
 */
export class RebuildCopy {
  /** How far the copy is filled; ahead of `checkpoint` only inside the swap's transaction. */
  position: bigint;
  headPosition: bigint;
  eventsDone = 0;
  readonly resumedFrom: bigint;
  /** The names of the copy's tables, and of the live ones it replaces. */
  readonly copyTable: (table: string) => string;
  readonly liveTable: (table: string) => string;
  readonly tables: string[];
  readonly batchSize: number;
  private readonly started = Date.now();
  private lastReport = 0;

  private constructor(
    readonly store: EventStore,
    readonly sql: SqlAccess,
    readonly projection: Projection,
    /** The copy's checkpoint, moved by compare-and-set in each batch's transaction. */
    readonly checkpoint: CheckpointKeeper,
    private readonly options: RebuildOptions,
  ) {
    this.position = checkpoint.checkpoint?.position ?? 0n;
    this.headPosition = this.position;
    this.resumedFrom = this.position;
    this.copyTable = tableNamer(projection, sql.names.s, COPY_SUFFIX);
    this.liveTable = tableNamer(projection, sql.names.s);
    this.tables = Object.keys(projection.tables ?? {});
    this.batchSize = options.batchSize ?? 1000;
  }

  /** Resumes the copy a stopped or crashed rebuild left, or starts a new one. */
  static async open(store: EventStore, sql: SqlAccess, projection: Projection, options: RebuildOptions): Promise<RebuildCopy> {
    const name = `${projection.name}::rebuild`;
    const checkpoint = new CheckpointKeeper(consumerStorageFor(store), `rebuild of ${projection.name}`, name, true, () => {});
    if (!(await checkpoint.load())) {
      // A fresh start: drop any copy left by an earlier run that never stored a checkpoint.
      const copyTable = tableNamer(projection, sql.names.s, COPY_SUFFIX);
      await sql.transaction(async (tx) => {
        for (const table of Object.keys(projection.tables ?? {})) await tx.query(`DROP TABLE IF EXISTS ${copyTable(table)}`);
        await ensureProjectionTables(tx, sql.names.s, projection, COPY_SUFFIX);
        await resetCheckpoint(tx, sql.names, name, 0n);
      });
      await checkpoint.load();
    }
    return new RebuildCopy(store, sql, projection, checkpoint, options);
  }

  /** Reads the next page after `from`. Outside any transaction: PGlite runs one statement at a time. */
  async read(from: bigint): Promise<RebuildPage> {
    const page = await this.store.readAllPage({ types: this.projection.eventTypes, after: from, limit: this.batchSize });
    this.headPosition = page.headPosition;
    return page;
  }

  /** Applies a page to the copy inside `tx`, stopping at `until` if given; returns the position it reached. */
  async apply(tx: SqlQueryable, page: RebuildPage, until?: bigint): Promise<bigint> {
    const context = { sql: tx, subscription: this.checkpoint.name, attempt: 1, table: this.copyTable };
    const reached = until !== undefined && page.position > until ? until : page.position;
    if (this.projection.batchHandler) {
      const events = until === undefined ? page.events : page.events.filter((e) => e.globalPosition <= until);
      if (events.length > 0) await this.projection.batchHandler(events, context);
      this.eventsDone += events.length;
      return reached;
    }
    for (const event of page.events) {
      if (until !== undefined && event.globalPosition > until) return until;
      await applyProjection(this.projection, event, context);
      this.eventsDone++;
    }
    return reached;
  }

  progress(phase: RebuildProgress['phase']): RebuildProgress {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const positionRate = Number(this.position - this.resumedFrom) / seconds;
    const left = this.headPosition > this.position ? this.headPosition - this.position : 0n;
    return {
      phase,
      eventsDone: this.eventsDone,
      position: this.position,
      headPosition: this.headPosition,
      ratePerSecond: this.eventsDone / seconds,
      ...(positionRate > 0 ? { etaSeconds: Number(left) / positionRate } : {}),
      resumedFrom: this.resumedFrom,
    };
  }

  /** Tells `onProgress`, at most every `progressEveryMs` unless `force`d. */
  report(phase: RebuildProgress['phase'], force = false): void {
    if (!this.options.onProgress) return;
    if (!force && Date.now() - this.lastReport < (this.options.progressEveryMs ?? 500)) return;
    this.lastReport = Date.now();
    this.options.onProgress(this.progress(phase));
  }
}

const COPY_SUFFIX = '__rebuild';
