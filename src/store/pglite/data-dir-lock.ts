/**
 * The embedded store's directory lock. PGlite is one in-process PostgreSQL: two instances on the
 * same files (two processes, or two store objects in one) corrupt them, so an open must hold the
 * directory alone, and the lock must vanish with its holder however that holder ends.
 *
 * Mechanism: an exclusive kernel lock on `factum.lock` through `fs-native-extensions` (Holepunch;
 * N-API prebuilt for Linux, macOS and Windows, nothing compiled at install): on Linux an
 * open-file-description lock (`fcntl(F_OFD_SETLK)`), on macOS `flock(2)`, on Windows `LockFileEx`.
 * The kernel grants it to one open file at a time and drops it when that file is closed, which a
 * dying process does, SIGKILL included; nothing is inferred from PIDs or timestamps, so a PID reused
 * after a restart, a half-written file or a file left by an older factum cannot fool it.
 * Rejected: PID files and mtime staleness (proper-lockfile), which guess; an abstract Unix socket,
 * which is Linux-only and per network namespace (two containers sharing a volume would both hold it).
 * The lock file is never deleted: unlinking it while others have it open would let a newcomer
 * lock a fresh inode beside a holder of the old one.
 */
import { constants } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FactumError, hasCode } from '../../core/errors.js';

export const LOCK_FILE = 'factum.lock';

interface FileLocks {
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
}

let fileLocks: FileLocks | undefined;
function loadFileLocks(): FileLocks {
  try {
    fileLocks ??= createRequire(import.meta.url)('fs-native-extensions') as FileLocks;
    return fileLocks;
  } catch (error) {
    throw new FactumError('STORAGE_ERROR', `Cannot load fs-native-extensions, which locks the embedded store's directory: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Directories held by store objects of this process, by device and inode, so that a second store
 * object is refused with a message that says so (the kernel lock refuses it too).
 */
const heldHere = new Set<string>();

function locked(dir: string, where: string, details: Record<string, unknown>): FactumError {
  return new FactumError('STORE_LOCKED', `The embedded store in ${dir} is already open ${where}; close it first`, { details: { dir, ...details } });
}

async function heldElsewhere(dir: string): Promise<FactumError> {
  const recorded = (await readFile(join(dir, LOCK_FILE), 'utf8').catch(() => '')).trim();
  const pid = /^\d+$/.test(recorded) ? Number(recorded) : undefined;
  // The holder writes its PID after it got the lock: a newcomer may still read its predecessor's.
  const hint = pid === undefined ? '' : ` (its lock file names process ${pid})`;
  return locked(dir, `in another process or worker thread${hint}`, { holder: 'other-process', ...(pid === undefined ? {} : { recordedPid: pid }) });
}

/**
 * Claims a PGlite data directory for one store, or fails with STORE_LOCKED when another process or
 * another store object of this process holds it. Returns the release function (idempotent).
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const locks = loadFileLocks();
  const { dev, ino } = await stat(dir);
  const key = `${dev}:${ino}`;
  if (heldHere.has(key)) throw locked(dir, 'in another store object of this process', { holder: 'this-process' });
  heldHere.add(key);
  let handle: FileHandle | undefined;
  try {
    handle = await open(join(dir, LOCK_FILE), constants.O_RDWR | constants.O_CREAT);
    if (locks.tryLock(handle.fd)) {
      // A hint for people who look at the directory, never a basis for a decision.
      const file = handle;
      await file.truncate(0).then(() => file.write(String(process.pid), 0)).catch(() => undefined);
    } else {
      throw await heldElsewhere(dir);
    }
  } catch (error) {
    await handle?.close().catch(() => undefined);
    heldHere.delete(key);
    if (hasCode(error, 'STORE_LOCKED')) throw error;
    throw new FactumError('STORAGE_ERROR', `Cannot lock the embedded store in ${dir}: ${(error as Error).message}`, { cause: error, details: { dir } });
  }
  const held = handle;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      locks.unlock(held.fd);
    } finally {
      await held.close();
      heldHere.delete(key);
    }
  };
}
