/**
 * One process at a time on an embedded store's directory. PGlite takes no lock of its own: two
 * processes opening the same files (two `npm start` at once) each overwrite the other's pages,
 * and the database is lost (seen while writing this example). A lock file beside the directory,
 * holding the owner's pid, turns that into a clear refusal; a lock left by a dead process is taken over.
 */
import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dataDir`; returns the function that gives it back. Throws when a live process holds it. */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dirname(dataDir), `${basename(dataDir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      const release = () => rmSync(path, { force: true });
      process.once('exit', release);
      return () => {
        process.off('exit', release);
        release();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new Error(`${dataDir} is in use by process ${owner} (lock file ${path}); wait for it to finish, or set FACTUM_DATA_DIR to another directory`);
      }
      // Left behind by a process that died: take it over.
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not lock ${dataDir} (lock file ${path})`);
}
