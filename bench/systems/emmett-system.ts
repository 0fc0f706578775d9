import pg from 'pg';
import { dumbo, type Dumbo } from '@event-driven-io/dumbo';
import { isExpectedVersionConflictError, type Event } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore, readMessagesBatch, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import type { BenchEvent } from '../bench-event.js';
import type { BenchSystem, ExpectedAppend } from './bench-system.js';

type BenchEmmettEvent = Event<string, BenchEvent['data'], BenchEvent['metadata'] & { messageId: string }>;

/** Emmett's event shape; the event id goes where Emmett takes it (`metadata.messageId`). */
function toEmmett(e: BenchEvent): BenchEmmettEvent {
  return { type: e.type, data: e.data, metadata: { ...e.metadata, messageId: e.id } } as BenchEmmettEvent;
}

/**
 * Emmett (`@event-driven-io/emmett-postgresql`) through `getPostgreSQLEventStore`, on a pg pool
 * of the same size as the others'. It creates its tables (`emt_*`) in the database's `public` schema.
 */
export class EmmettSystem implements BenchSystem {
  readonly name = 'emmett';
  readonly backend = 'postgres' as const;
  readonly label = 'emmett/postgres';
  readonly cannot = { bulkImport: 'no bulk-import API (only appendToStream)' };

  private constructor(
    private readonly store: PostgresEventStore,
    private readonly db: Dumbo,
    private readonly pool: pg.Pool,
  ) {}

  static async open(connectionString: string, max: number): Promise<EmmettSystem> {
    const pool = new pg.Pool({ connectionString, max });
    pool.on('error', () => {});
    const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { pool } });
    await store.schema.migrate();
    // The same pool, seen through Emmett's driver layer: what its $all reader (readMessagesBatch) takes.
    const db = dumbo({ connectionString, pool });
    return new EmmettSystem(store, db, pool);
  }

  async reset(): Promise<void> {
    await this.store.schema.dangerous.truncate({ resetSequences: true });
  }

  async appendNew(streamId: string, events: BenchEvent[]): Promise<void> {
    // 0n = "the stream is at version 0": Emmett's real check that the stream is new.
    await this.store.appendToStream(streamId, events.map(toEmmett), { expectedStreamVersion: 0n });
  }

  async appendExpected(streamId: string, event: BenchEvent, expected: number): Promise<ExpectedAppend> {
    try {
      const result = await this.store.appendToStream(streamId, [toEmmett(event)], { expectedStreamVersion: BigInt(expected) });
      return { ok: true, version: Number(result.nextExpectedStreamVersion) };
    } catch (error) {
      if (isExpectedVersionConflictError(error)) return { ok: false };
      throw error;
    }
  }

  async catchUp(streamId: string, afterVersion: number): Promise<number> {
    const result = await this.store.readStream(streamId, { from: BigInt(afterVersion + 1) });
    return result.events.length ? Number(result.currentStreamVersion) : afterVersion;
  }

  async loadStream(streamId: string): Promise<number> {
    return (await this.store.readStream(streamId)).events.length;
  }

  async readAll(pageSize: number): Promise<number> {
    let after = 0n;
    let count = 0;
    for (;;) {
      const batch = await readMessagesBatch(this.db.execute, { after, batchSize: pageSize });
      count += batch.messages.length;
      if (!batch.areMessagesLeft) return count;
      after = batch.currentGlobalPosition;
    }
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.pool.end().catch(() => {});
  }
}
