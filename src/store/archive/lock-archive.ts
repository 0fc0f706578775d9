import { hasCode, FactumError } from '../../core/errors.js';
import { lockDataDir } from '../pglite/data-dir-lock.js';

/**
 * Holds an archive's directory for one archiver or restore at a time, with the kernel lock the
 * embedded store takes on its directory (data-dir-lock.ts): it vanishes with its holder, SIGKILL
 * included, so a crashed run never blocks the next. Another holder is `ARCHIVE_CONFLICT`.
 * Resolves to the release function.
 *
 * @example
 * const release = await lockArchive('./archive/2026-12')
 * try { ... } finally { await release() }
 */
export async function lockArchive(directory: string): Promise<() => Promise<void>> {
  try {
    return await lockDataDir(directory);
  } catch (error) {
    if (!hasCode(error, 'STORE_LOCKED')) throw error;
    throw new FactumError('ARCHIVE_CONFLICT', `Another archiver or restore is working on the archive in ${directory}; wait for it to end`, { cause: error, details: { directory } });
  }
}
