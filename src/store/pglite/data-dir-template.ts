/**
 * New embedded directories are copies of a template. PGlite creates a database by running initdb
 * in a second WebAssembly PostgreSQL beside the first and copying its files over: seconds of work
 * and about 0.9 GB of memory that the process then keeps, where opening an existing directory
 * takes under a second and 0.35 GB; and the migrations, run on a cold database, take another
 * second. So a short-lived child process (initdb's memory dies with it) makes a migrated database
 * once per PGlite version, schema and set of migrations, it is kept as a template in the user's
 * cache folder (`env-paths`: ~/.cache/factum on Linux), and each new directory is filled with a
 * copy, which PGlite then opens like an existing one, with nothing left to migrate.
 */
import { spawn } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { access, cp, mkdir, rename, rm } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import envPaths from 'env-paths';
import { FactumError } from '../../core/errors.js';
import { MIGRATIONS } from '../sql/migrations/migrations.js';
import { sqlNames } from '../sql/sql-names.js';
import { LOCK_FILE } from './data-dir-lock.js';

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

/** What a new directory should hold: a database as `openPGliteEventStore` with these options leaves it. */
export interface TemplateSpec {
  /** The folder that keeps templates. */
  root: string;
  schema: string;
  /** Whether the store migrates on open: a template is migrated only for stores that would be. */
  migrate: boolean;
}

/** The template's folder: one per PGlite version and, when migrated, per schema and migrations' SQL. */
function templatePath(spec: TemplateSpec): string {
  const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // PGlite does not export its package.json; it sits one folder above the entry (dist/).
  const { version } = JSON.parse(readFileSync(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8')) as { version: string };
  if (!spec.migrate) return join(spec.root, `pglite-${version}`);
  const names = sqlNames(spec.schema);
  // By content, not by number: a migration edited while in development gets a template of its own.
  const migrations = createHash('sha1').update(JSON.stringify([spec.schema, MIGRATIONS.map((m) => [m.version, m.sql(names)])]));
  return join(spec.root, `pglite-${version}-${migrations.digest('hex').slice(0, 16)}`);
}

/** The child runs this very store; from TypeScript sources (tests, tsx) it needs tsx's loader too. */
function childArgs(): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
}

function runNode(code: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...childArgs(), '--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (status, signal) => (status === 0 ? resolve() : reject(new Error(`template build exited (${status ?? signal}): ${stderr.trim()}`))));
  });
}

async function buildTemplate(template: string, spec: TemplateSpec): Promise<void> {
  // Built aside and renamed into place: a template that exists is complete, even if builders race or die.
  const building = `${template}.building-${randomUUID()}`;
  const store = new URL(`./pglite-event-store.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;
  const options = { dataDir: building, templateDir: false, schema: spec.schema, migrate: spec.migrate };
  const code = `const { openPGliteEventStore } = await import(${JSON.stringify(store)});
    const store = await openPGliteEventStore(${JSON.stringify(options)}); await store.close();`;
  try {
    await runNode(code);
    await rm(join(building, LOCK_FILE));
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
export async function seedDataDir(dir: string, spec: TemplateSpec): Promise<boolean> {
  if (await exists(join(dir, MARKER))) return false;
  const template = templatePath(spec);
  try {
    if (!(await exists(join(template, MARKER)))) {
      await mkdir(spec.root, { recursive: true });
      await buildTemplate(template, spec);
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
