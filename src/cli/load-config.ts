import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FactumError } from '../core/errors.js';
import type { FactumConfig } from './factum-config.js';

const DEFAULT_NAMES = ['factum.config.ts', 'factum.config.mts', 'factum.config.js', 'factum.config.mjs'];

/** A loaded config and the directory its relative paths are taken from. */
export interface LoadedConfig {
  config: FactumConfig;
  path: string;
  dir: string;
}

/**
 * The config module named by `--config`, else the first `factum.config.*` of the working
 * directory, else undefined (or NOT_FOUND when the command needs one).
 */
export async function loadConfig(path: string | undefined, options: { required?: string } = {}): Promise<LoadedConfig | undefined> {
  const file = path ? resolve(path) : DEFAULT_NAMES.map((name) => resolve(name)).find((candidate) => existsSync(candidate));
  if (!file || !existsSync(file)) {
    if (path) throw new FactumError('NOT_FOUND', `No config module at ${path}`, { details: { path } });
    if (options.required) throw new FactumError('NOT_FOUND', `${options.required} needs a config module: pass --config <file> or create factum.config.ts (see defineConfig)`);
    return undefined;
  }
  let loaded: { default?: unknown };
  try {
    loaded = (await (/\.m?ts$/.test(file) ? importTypeScript(file) : import(pathToFileURL(file).href))) as { default?: unknown };
  } catch (error) {
    if (error instanceof FactumError) throw error;
    throw new FactumError('INVALID_ARGUMENT', `Loading the config module ${file} failed: ${(error as Error).message}`, { cause: error });
  }
  const config = loaded.default;
  if (typeof config !== 'object' || config === null) throw new FactumError('INVALID_ARGUMENT', `The config module ${file} has no default export (export default defineConfig({ ... }))`);
  return { config: config as FactumConfig, path: file, dir: dirname(file) };
}

async function importTypeScript(file: string): Promise<unknown> {
  let api: { tsImport: (specifier: string, parent: string) => Promise<unknown> };
  try {
    api = (await import('tsx/esm/api' as string)) as typeof api;
  } catch (error) {
    throw new FactumError('DRIVER_MISSING', `The config module ${file} is TypeScript: install tsx to load it (npm i -D tsx), or write it as .js/.mjs`, { cause: error });
  }
  return api.tsImport(pathToFileURL(file).href, import.meta.url);
}
