import { FactumError } from '../../core/errors.js';

/**
 * A database failure as the caller sees it: `STORAGE_ERROR` naming the operation, with the
 * driver's error as `cause` and its SQLSTATE in `details`. A FactumError passes unchanged.
 *
 * @example
 * try { await client.query(sql) } catch (error) { throw storageError('readAll', error) }
 */
export function storageError(operation: string, error: unknown): FactumError {
  if (error instanceof FactumError) return error;
  return new FactumError('STORAGE_ERROR', `${operation} failed: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    details: { operation, sqlState: (error as { code?: string })?.code },
  });
}
