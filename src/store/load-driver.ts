import { FactumError } from '../core/errors.js';

/**
 * Loads an optional peer dependency (a database driver). A user who runs only PGlite never
 * installs `pg`, and the other way round, so a missing driver is an ordinary mistake: it gets a
 * `DRIVER_MISSING` error saying what to install instead of Node's `ERR_MODULE_NOT_FOUND`.
 * `load` is a function so that the import stays a literal one that bundlers and TypeScript see.
 *
 * @example
 * const pg = await loadDriver(() => import('pg'), 'pg', 'The PostgreSQL store')
 */
export async function loadDriver<T>(load: () => Promise<T>, packageName: string, user: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const install = `npm install ${packageName}`;
    const missing = (error as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${packageName}'`);
    const message = missing
      ? `${user} needs the "${packageName}" package, which is not installed: ${install}`
      : `${user} needs the "${packageName}" package, which could not be loaded (${(error as Error)?.message ?? String(error)}): reinstall it with ${install}`;
    throw new FactumError('DRIVER_MISSING', message, { cause: error, details: { package: packageName, install } });
  }
}
