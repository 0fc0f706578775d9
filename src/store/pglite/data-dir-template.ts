/**
 * New embedded directories are copies of a template. PGlite creates a database by running initdb
 * in a second WebAssembly PostgreSQL beside the first and copying its files over: seconds of work
 * and about 0.9 GB of memory that the process then keeps, where opening an existing directory
 * takes under a second and 0.35 GB. So factum lets PGlite make a database once per PGlite version,
 * in a short-lived child process (initdb's memory dies with it), keeps it as a template in the
 * user's cache folder (`env-paths`: ~/.cache/factum on Linux), and fills each new directory with a
 * copy, which PGlite then opens like an existing one.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { access, cp, mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import envPaths from 'env-paths';
import { FactumError } from '../../core/errors.js';

/** PGlite resumes a directory that has this file and runs initdb where it is missing. */
const MARKER = 'PG_VERSION';

/** Where templates are kept unless the store is told otherwise. */
export function defaultTemplateRoot(): string {
  return envPaths('factum', { suffix: '' }).cache;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The PGlite that the store imports: its entry, for the child, and its version, to name the template. */
function installedPGlite(): { entry: string; version: string } {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // PGlite does not export its package.json; it sits one folder above the entry (dist/).
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return { entry, version };
}

function runNode(code: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (status, signal) => (status === 0 ? resolve() : reject(new Error(`template build exited (${status ?? signal}): ${stderr.trim()}`))));
  });
}

async function buildTemplate(template: string, entry: string): Promise<void> {
  // Built aside and renamed into place: a template that exists is complete, even if builders race or die.
  const building = `${template}.building-${randomUUID()}`;
  const code = `const { PGlite } = await import(${JSON.stringify(pathToFileURL(entry).href)});
    const db = await PGlite.create(${JSON.stringify(building)}); await db.close();`;
  try {
    await runNode(code);
    await rename(building, template);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    if (!(await exists(join(template, MARKER)))) throw error;
  }
}

/**
 * Fills `dir`, which must be locked by the caller, with a copy of the template when it holds no
 * database yet; true when it did. When no template can be made (no child process allowed, a
 * read-only cache), false: PGlite then creates the database in place, the slow way. A failed copy
 * throws, since it may have left files behind.
 */
export async function seedDataDir(dir: string, templateRoot: string): Promise<boolean> {
  if (await exists(join(dir, MARKER))) return false;
  const { entry, version } = installedPGlite();
  const template = join(templateRoot, `pglite-${version}`);
  try {
    if (!(await exists(join(template, MARKER)))) {
      await mkdir(templateRoot, { recursive: true });
      await buildTemplate(template, entry);
    }
  } catch {
    return false;
  }
  try {
    // The marker last: a copy cut short is not taken for a database, and the next open copies again.
    // FICLONE: a copy-on-write clone where the file system has them (APFS, btrfs, XFS), else a copy.
    const copy = { recursive: true, force: true, mode: constants.COPYFILE_FICLONE };
    await cp(template, dir, { ...copy, filter: (source) => source !== join(template, MARKER) });
    await cp(join(template, MARKER), join(dir, MARKER), copy);
  } catch (error) {
    throw new FactumError('STORAGE_ERROR', `Cannot copy the template ${template} into ${dir}: ${(error as Error).message}`, { cause: error, details: { dir, template } });
  }
  return true;
}
