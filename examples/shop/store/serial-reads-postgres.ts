/**
 * Work-around, local to the shop (see the report of issue 6): `SqlEventStore` proves holes in
 * `$all` final with one `ReadAllSafety` per store object, fed by every `readAllPage` call. It
 * assumes the observations (head, then the open appenders) reach it in the order the database
 * made them. Several subscriptions reading through one pooled store at once break that: an older
 * observation handled after a newer one "proves" an open append finished, and a reader skipped
 * an event that committed a moment later (seen once in this shop on PostgreSQL: order-summary
 * passed an OrderConfirmed). Serialising the reads of one store object keeps the order; the
 * cost is small next to the handlers' own work.
 */
import pg from 'pg';
import { PostgresEventStore, postgresClient, type AllPage, type ReadAllPageOptions } from '../factum.js';

class SerialReadsPostgresStore extends PostgresEventStore {
  private tail: Promise<unknown> = Promise.resolve();

  protected override readAllPageImpl(after: bigint, limit: number, options: ReadAllPageOptions): Promise<AllPage> {
    const read = () => super.readAllPageImpl(after, limit, options);
    const result = this.tail.then(read, read);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Opens the PostgreSQL store like `openEventStore(url)`, with reads of `$all` taken one at a time. */
export async function openSerialReadsPostgresStore(url: string, options: { schema?: string; maxConnections: number }): Promise<PostgresEventStore> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => undefined);
  const store = new SerialReadsPostgresStore(postgresClient(pool, true), options.schema ? { schema: options.schema } : {});
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
