import { FactumError, hasCode } from '../../core/errors.js';

/** Where a pool connects, as pg resolves it (URL, explicit options, PG* variables, defaults). */
interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
}

/**
 * pg-pool keeps its options and its Client class; a Client built from them (never connected)
 * has resolved host, port, database and user exactly as a real connection would. Never the
 * password: it does not leave this function.
 */
function targetOf(pool: unknown): Target | undefined {
  const p = pool as { Client?: new (options: unknown) => Partial<Target>; options?: unknown };
  if (typeof p?.Client !== 'function' || typeof p.options !== 'object') return undefined;
  try {
    const { host, port, database, user } = new p.Client(p.options);
    return { host: String(host), port: Number(port), database: String(database), user: String(user) };
  } catch {
    return undefined;
  }
}

/** What went wrong in words, for the cases people meet; the driver's message follows. */
function reasonOf(error: Error & { code?: string }, timeoutMs: number | undefined): string {
  if (/^timeout expired|^Connection terminated due to connection timeout/.test(error.message)) {
    return timeoutMs === undefined
      ? 'no PostgreSQL answer within the connect timeout'
      : `no PostgreSQL answer within ${timeoutMs} ms (the connect timeout; option connectTimeoutMs)`;
  }
  if (error.code === 'ECONNREFUSED') return `connection refused, no server listens there (${error.message})`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `unknown host (${error.message})`;
  return error.message;
}

/**
 * The error of a store that could not connect: `CONNECTION_FAILED`, naming host, port, database
 * and user (never the password), with the driver's error as `cause`.
 *
 * @example
 * throw connectionFailedError(error, pool, 10_000) // "Cannot connect to PostgreSQL at db:5432 (database "app", user "app"): ..."
 */
export function connectionFailedError(error: unknown, pool: unknown, timeoutMs?: number): FactumError {
  // Migrations report a lost connection as CONNECTION_FAILED already; describe its cause.
  const cause = hasCode(error, 'CONNECTION_FAILED') ? (error.cause ?? error) : error;
  const target = targetOf(pool);
  const where = target ? ` at ${target.host}:${target.port} (database "${target.database}", user "${target.user}")` : '';
  const sqlState = (cause as { code?: unknown })?.code;
  return new FactumError('CONNECTION_FAILED', `Cannot connect to PostgreSQL${where}: ${reasonOf(cause as Error, timeoutMs)}`, {
    cause,
    details: { ...target, ...(typeof sqlState === 'string' ? { code: sqlState } : {}) },
  });
}
