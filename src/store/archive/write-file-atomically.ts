import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `path` so that after a crash it holds either its old content or all of the new: the
 * bytes go to `<path>.tmp`, are flushed to disk, and the temporary file is renamed over `path`
 * (atomic on POSIX), and the directory is flushed so the rename itself survives a power loss.
 * A `.tmp` left by a crash is simply overwritten next time.
 *
 * @example
 * await writeFileAtomically('./archive/manifest.json', JSON.stringify(manifest))
 */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
