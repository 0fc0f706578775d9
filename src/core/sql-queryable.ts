/**
 * A SQL session as factum uses it: the store's own statements, a transaction's (`tx.sql`), a
 * projection handler's. Here in core because the EventStore port hands one out
 * (`store.transaction`); `pg` and PGlite both fit behind it.
 */
export interface SqlQueryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: Row[] }>;
}

/**
 * Parsers of result columns by type OID, for one statement. They replace the driver's own
 * (and any a user installed process-wide); a column of a type without one comes back as text.
 */
export type TypeParsers = Readonly<Record<number, (text: string) => unknown>>;

export interface QueryOptions {
  parsers?: TypeParsers;
}
