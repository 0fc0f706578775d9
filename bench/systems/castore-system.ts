import postgres from 'postgres';
import { EventStore, EventType, isEventAlreadyExistsError, type GroupedEvent } from '@castore/core';
import { PostgresEventStorageAdapter } from '@castore/event-storage-adapter-postgres';
import type { BenchEvent } from '../bench-event.js';
import { BENCH_EVENT_TYPE } from '../bench-event.js';
import type { BenchSystem, ExpectedAppend } from './bench-system.js';

const TABLE = 'castore_event';
const EVENT_STORE_ID = 'orders';

const orderLineAdded = new EventType<typeof BENCH_EVENT_TYPE, BenchEvent['data'], BenchEvent['metadata']>({ type: BENCH_EVENT_TYPE });

function buildStore(adapter: PostgresEventStorageAdapter) {
  return new EventStore({
    eventStoreId: EVENT_STORE_ID,
    eventTypes: [orderLineAdded],
    reducer: (aggregate: { aggregateId: string; version: number } | undefined, event) => ({ aggregateId: event.aggregateId, version: event.version }),
    eventStorageAdapter: adapter,
  });
}

function detail(streamId: string, version: number, e: BenchEvent) {
  return { aggregateId: streamId, version, type: BENCH_EVENT_TYPE, payload: e.data, metadata: e.metadata } as const;
}

/**
 * Castore (`@castore/core` with `@castore/event-storage-adapter-postgres`): one row per event,
 * the version check is the UNIQUE (aggregate_name, aggregate_id, version) constraint.
 */
export class CastoreSystem implements BenchSystem {
  readonly name = 'castore';
  readonly backend = 'postgres' as const;
  readonly label = 'castore/postgres';
  readonly cannot = {
    readAll: 'no API to read all events in global order (getEvents reads one aggregate; listAggregateIds lists ids)',
    bulkImport: 'no bulk-import API (pushEvent, or pushEventGroup: one INSERT per event in a transaction)',
  };

  private constructor(
    private readonly store: ReturnType<typeof buildStore>,
    private readonly sql: postgres.Sql,
  ) {}

  static async open(connectionString: string, max: number): Promise<CastoreSystem> {
    await PostgresEventStorageAdapter.createEventTable({ connectionString, tableName: TABLE, aggregateId: { type: 'VARCHAR', length: 128 } });
    const adapter = new PostgresEventStorageAdapter({ connectionString, tableName: TABLE });
    // The adapter's own client has postgres.js's default of 10 connections and no setting to
    // change it (nor a close method); swap in the same client with the pool size every system gets.
    const internals = adapter as unknown as { _sql: postgres.Sql };
    await internals._sql.end();
    const sql = postgres(connectionString, { max, types: { bigint: postgres.BigInt }, onnotice: () => {} });
    internals._sql = sql;
    return new CastoreSystem(buildStore(adapter), sql);
  }

  async reset(): Promise<void> {
    await this.sql.unsafe(`TRUNCATE ${TABLE} RESTART IDENTITY`);
  }

  async appendNew(streamId: string, events: BenchEvent[]): Promise<void> {
    if (events.length === 1) {
      await this.store.pushEvent(detail(streamId, 1, events[0]!));
      return;
    }
    // One transaction for the whole batch: Castore's way to push several events at once.
    const grouped = events.map((e, i) => this.store.groupEvent(detail(streamId, i + 1, e)));
    await EventStore.pushEventGroup({}, ...(grouped as [GroupedEvent, ...GroupedEvent[]]));
  }

  async appendExpected(streamId: string, event: BenchEvent, expected: number): Promise<ExpectedAppend> {
    try {
      await this.store.pushEvent(detail(streamId, expected + 1, event));
      return { ok: true, version: expected + 1 };
    } catch (error) {
      if (isEventAlreadyExistsError(error)) return { ok: false };
      throw error;
    }
  }

  async catchUp(streamId: string, afterVersion: number): Promise<number> {
    const { events } = await this.store.getEvents(streamId, { minVersion: afterVersion + 1 });
    return events.length ? events[events.length - 1]!.version : afterVersion;
  }

  async loadStream(streamId: string): Promise<number> {
    return (await this.store.getEvents(streamId)).events.length;
  }

  async readAll(): Promise<number> {
    throw new Error(this.cannot.readAll);
  }

  async close(): Promise<void> {
    await this.sql.end();
  }
}
