// The `factum` bin built as users get it, but into a directory of its own inside the repository
// (so that its imports resolve from node_modules): another test file rebuilds dist/ meanwhile.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a spawned command did. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliBuild {
  dir: string;
  /** Runs the bin with `args`; resolves with its exit code and output (never rejects on a non-zero exit). */
  factum(args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<Ran>;
  remove(): Promise<void>;
}

export async function buildCli(): Promise<CliBuild> {
  const dir = join(process.cwd(), '.cli-build', randomUUID().slice(0, 8));
  await mkdir(dir, { recursive: true });
  await copyFile('package.json', join(dir, 'package.json'));
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--outDir', join(dir, 'dist'), '--declaration', 'false', '--declarationMap', 'false'], { timeout: 180_000 });
  const bin = join(dir, 'dist', 'cli', 'main.js');
  return {
    dir,
    async factum(args, options = {}) {
      try {
        const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 60_000, ...options });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout: string; stderr: string };
        if (typeof e.code !== 'number') throw error;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
