/**
 * Node's socket errors that mean the database could not be reached or the connection died:
 * refused, unknown host, reset, unreachable. (ENOENT counts only from `connect`: a Unix socket
 * that is not there.)
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * SQLSTATEs of a connection that the server refused or ended: class 08 (connection exception),
 * 28 (authentication: wrong password, unknown role), 3D000 (no such database), 53300 (too many
 * connections) and 57P01-57P03 (terminated by an administrator, server shutting down or starting).
 */
const CONNECTION_SQLSTATE = /^(08...|28...|3D000|53300|57P0[1-3])$/;

// What pg throws, without a code, when the socket ends, its connect timeout fires, or a statement
// is sent on a client that already lost its connection.
const DRIVER_MESSAGES = /^(timeout expired|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)/;

/**
 * True when `error` says the database could not be reached or the connection was lost, as
 * opposed to a statement the server refused on a live connection. Opening a store tells the
 * two apart: the first is `CONNECTION_FAILED`, the second `MIGRATION_FAILED`.
 *
 * @example
 * isConnectionFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) // true
 */
export function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; syscall?: unknown } | null | undefined;
  if (typeof e?.code === 'string' && (SOCKET_CODES.has(e.code) || CONNECTION_SQLSTATE.test(e.code))) return true;
  if (e?.code === 'ENOENT' && e.syscall === 'connect') return true;
  return typeof e?.message === 'string' && DRIVER_MESSAGES.test(e.message);
}
