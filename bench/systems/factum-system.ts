import type pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { isConcurrencyError } from '../../src/core/errors.js';
import type { NewEvent } from '../../src/core/message.js';
import type { SqlEventStore } from '../../src/store/sql/sql-event-store.js';
import { openPostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { openPGliteEventStore } from '../../src/store/pglite/pglite-event-store.js';
import type { BenchEvent } from '../bench-event.js';
import type { BenchSystem, ExpectedAppend, ImportBatch } from './bench-system.js';

const SCHEMA = 'factum_bench';

function toNew(e: BenchEvent): NewEvent {
  return { id: e.id, type: e.type, data: e.data, metadata: e.metadata };
}

/** factum through its public EventStore API, on PostgreSQL or PGlite. */
export class FactumSystem implements BenchSystem {
  readonly name = 'factum';
  readonly label: string;
  readonly cannot: BenchSystem['cannot'];

  private constructor(
    readonly backend: 'postgres' | 'pglite',
    private store: SqlEventStore,
    private readonly reopen: () => Promise<SqlEventStore>,
    /** Concurrent appenders in a bulk import: the fastest setting measured on 2 cores. */
    private readonly importWriters: number,
  ) {
    this.label = `factum/${backend}`;
    // A million events into the embedded store would take minutes of the 10-minute run.
    this.cannot = backend === 'pglite' ? { bulkImport: 'bulk import is measured on PostgreSQL only' } : {};
  }

  /** On a pool the runner owns (factum does not end it), so its type parsers stay pg's defaults. */
  static async postgres(pool: pg.Pool, importWriters: number): Promise<FactumSystem> {
    const open = (migrate: boolean) => openPostgresEventStore({ connection: pool, schema: SCHEMA, migrate });
    return new FactumSystem('postgres', await open(true), () => open(false), importWriters);
  }

  static async pglite(db: PGlite): Promise<FactumSystem> {
    const open = (migrate: boolean) => openPGliteEventStore({ dataDir: db as never, schema: SCHEMA, migrate });
    return new FactumSystem('pglite', await open(true), () => open(false), 1);
  }

  async reset(): Promise<void> {
    const { s } = this.store.names;
    await this.store.client.query(`TRUNCATE ${s}events, ${s}streams`);
    // A fresh instance: the reader's proof of settled positions must not outlive the data.
    await this.store.close();
    this.store = await this.reopen();
  }

  async analyze(): Promise<void> {
    const { s } = this.store.names;
    await this.store.client.query(`ANALYZE ${s}events`);
    await this.store.client.query(`ANALYZE ${s}streams`);
  }

  async appendNew(streamId: string, events: BenchEvent[]): Promise<void> {
    await this.store.append(streamId, events.map(toNew), { expectedVersion: 'no_stream' });
  }

  async appendExpected(streamId: string, event: BenchEvent, expected: number): Promise<ExpectedAppend> {
    try {
      const result = await this.store.append(streamId, [toNew(event)], { expectedVersion: expected });
      return { ok: true, version: result.nextExpectedVersion };
    } catch (error) {
      if (isConcurrencyError(error)) return { ok: false };
      throw error;
    }
  }

  async catchUp(streamId: string, afterVersion: number): Promise<number> {
    let version = afterVersion;
    for await (const event of this.store.readStream(streamId, { fromVersion: afterVersion + 1 })) version = event.streamVersion;
    return version;
  }

  async loadStream(streamId: string): Promise<number> {
    return (await this.store.loadStream(streamId)).events.length;
  }

  async readAll(pageSize: number): Promise<number> {
    let count = 0;
    for await (const _ of this.store.readAll({ pageSize })) count++;
    return count;
  }

  async bulkImport(source: AsyncIterable<ImportBatch>): Promise<string> {
    const iterator = source[Symbol.asyncIterator]();
    let size = 0;
    await Promise.all(
      Array.from({ length: this.importWriters }, async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          const { streamId, firstVersion, events } = next.value;
          size = events.length;
          await this.store.append(streamId, events.map(toNew), { expectedVersion: firstVersion - 1 });
        }
      }),
    );
    return `append() of ${size.toLocaleString('en-US')}-event batches, ${this.importWriters} concurrent (no COPY import path yet)`;
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
