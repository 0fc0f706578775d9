import { createHash } from 'node:crypto';
import type { QueryOptions, SqlClient, SqlQueryable, TypeParsers } from '../sql/sql-client.js';

/**
 * The subset of `pg.Pool` factum uses, typed here so that `pg` stays an optional peer
 * dependency: users who run only PGlite never install it.
 */
export interface PgPoolLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
  connect(): Promise<PgConnectionLike>;
  end(): Promise<void>;
}

/** A connection checked out of the pool. */
interface PgConnectionLike {
  query(sql: string | PgQueryConfig, params?: unknown[]): Promise<{ rows: any[] }>;
  release(error?: Error | boolean): void;
}

/** pg's query config: `types` gives the parsers of this statement's result. */
interface PgQueryConfig {
  name?: string;
  text: string;
  values?: unknown[];
  types?: { getTypeParser(oid: number): (text: string) => unknown };
}

const asText = (text: string) => text;
/** Parsers in the shape pg takes, one per parsers object. */
const pgTypes = new WeakMap<TypeParsers, PgQueryConfig['types']>();

function typesOf(parsers: TypeParsers | undefined): PgQueryConfig['types'] {
  if (!parsers) return undefined;
  let types = pgTypes.get(parsers);
  if (!types) pgTypes.set(parsers, (types = { getTypeParser: (oid) => parsers[oid] ?? asText }));
  return types;
}

/** Statement names by SQL text; the same text gets the same name in every client of the process. */
const statementNames = new Map<string, string>();
/** More distinct statements than this are sent unnamed (factum issues a few dozen). */
const MAX_NAMED_STATEMENTS = 500;

/**
 * Runs a parameterised statement as a named prepared statement: PostgreSQL parses and plans it
 * once per connection instead of on every call (planning the stream read cost about 0.6 ms of a
 * 1,000-event load). The name is a hash of the text, so two stores sharing one pool never give
 * one name to two texts.
 */
function runPrepared(connection: PgConnectionLike, sql: string, params: unknown[], types: PgQueryConfig['types']): Promise<{ rows: any[] }> {
  let name = statementNames.get(sql);
  if (!name) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return connection.query({ text: sql, values: params, types });
    name = `factum_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return connection.query({ name, text: sql, values: params, types });
}

/** A `pg` client held for LISTEN: it receives notifications as events. */
interface PgListeningClient {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  release(error?: Error | boolean): void;
}

/** The PostgreSQL client, plus what subscriptions use to wake up at once (LISTEN/NOTIFY). */
export interface PostgresSqlClient extends SqlClient {
  /**
   * Takes one connection out of the pool for good and LISTENs on `channel` there; `onNotify`
   * runs for each notification, `onError` when the connection breaks (then call again).
   * Returns the function that UNLISTENs and gives the connection back.
   */
  listen(channel: string, onNotify: () => void, onError: (error: Error) => void): Promise<() => Promise<void>>;
}

/**
 * Wraps a `pg.Pool`. `ownsPool` says whether `close()` ends it (pools passed in by users are
 * theirs); `prepare` whether parameterised statements are named prepared statements.
 */
export function postgresClient(pool: PgPoolLike, ownsPool: boolean, prepare = true): PostgresSqlClient {
  const run = (connection: PgConnectionLike, sql: string, params?: unknown[], options?: QueryOptions) => {
    const types = typesOf(options?.parsers);
    if (prepare && params) return runPrepared(connection, sql, params, types);
    return types ? connection.query({ text: sql, values: params ?? [], types }) : connection.query(sql, params);
  };
  return {
    kind: 'postgres',
    preparesStatements: prepare,
    concurrentSessions: true,
    async listen(channel, onNotify, onError) {
      const connection = (await pool.connect()) as unknown as PgListeningClient;
      let broken: Error | undefined;
      const notified = (message: { channel: string }): void => {
        if (message.channel === channel) onNotify();
      };
      const failed = (error: Error): void => {
        broken = error;
        onError(error);
      };
      connection.on('notification', notified);
      connection.on('error', failed);
      // The pooled connection outlives this LISTEN: take our listeners off it before giving it back.
      const release = (): void => {
        connection.removeListener('notification', notified);
        connection.removeListener('error', failed);
        connection.release(broken ?? undefined);
      };
      try {
        await connection.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      } catch (error) {
        broken ??= error as Error;
        release();
        throw error;
      }
      return async () => {
        if (!broken) await connection.query('UNLISTEN *').catch((error: Error) => (broken = error));
        release();
      };
    },
    async query(sql, params, options) {
      const connection = await pool.connect();
      const release = guardConnection(connection);
      try {
        const result = await run(connection, sql, params, options);
        release();
        return result;
      } catch (error) {
        // pool.query would destroy the connection on any error, so every version conflict would
        // cost a reconnect (about 70 ms instead of 5). A statement the server refused leaves the
        // connection healthy; only a broken one is thrown away.
        release(connectionBroken(error) ? (error as Error) : undefined);
        throw error;
      }
    },
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const connection = await pool.connect();
      const release = guardConnection(connection);
      try {
        await connection.query('BEGIN');
        const result = await fn({ query: (sql, params, options) => run(connection, sql, params, options) });
        await connection.query('COMMIT');
        release();
        return result;
      } catch (error) {
        // A connection whose ROLLBACK fails is broken: destroy it rather than return it to the pool.
        await connection.query('ROLLBACK').then(
          () => release(),
          (rollbackError: Error) => release(rollbackError),
        );
        throw error;
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

type PooledConnection = Awaited<ReturnType<PgPoolLike['connect']>>;

/**
 * pg-pool listens for errors only on idle clients: a connection killed while checked out would
 * emit an unhandled 'error' and crash the process. The failing query reports it instead.
 * Returns the release function, which removes the guard.
 */
function guardConnection(connection: PooledConnection): (error?: Error) => void {
  const onError = (): void => {};
  const events = connection as unknown as { on(e: 'error', l: () => void): void; removeListener(e: 'error', l: () => void): void };
  events.on('error', onError);
  return (error) => {
    events.removeListener('error', onError);
    connection.release(error);
  };
}

/** True unless the server answered with an ordinary (non-fatal) error on a live connection. */
function connectionBroken(error: unknown): boolean {
  const e = error as { code?: unknown; severity?: unknown };
  return typeof e?.code !== 'string' || e.code.length !== 5 || e.severity === 'FATAL' || e.severity === 'PANIC';
}
