import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FactumError } from '../../core/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims a PGlite data directory for this store. PGlite is one in-process PostgreSQL: a second
 * instance on the same files (another process, or the same one twice) corrupts them, so the
 * second open fails with STORE_LOCKED instead. A lock left by a process that died is taken over.
 * Returns the release function.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'factum.lock');
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, mine, { flag: 'wx' });
      return async () => {
        if ((await readFile(path, 'utf8').catch(() => '')) === mine) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(path, 'utf8').catch(() => ''));
      if (Number.isSafeInteger(holder) && holder > 0 && alive(holder)) {
        throw new FactumError('STORE_LOCKED', `The embedded store in ${dir} is open in process ${holder}${holder === process.pid ? ' (this one)' : ''}; close it first`, {
          details: { dir, pid: holder },
        });
      }
      await unlink(path).catch(() => undefined);
    }
  }
  throw new FactumError('STORE_LOCKED', `Could not claim the embedded store in ${dir}`, { details: { dir } });
}
