/** Real worker processes for the crash tests: spawned with tsx, killed with SIGKILL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Worker {
  child: ChildProcess;
  /** Resolves when the worker printed "ready". */
  ready: Promise<void>;
  output: () => string;
}

/** Starts `test/runner-suites/workers/<script>` in a new Node process. */
export function spawnWorker(script: string, args: string[]): Worker {
  const path = fileURLToPath(new URL(`./workers/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`worker ${script} exited (${code ?? signal}) before ready: ${out}`)));
  });
  ready.catch(() => {});
  return { child, ready, output: () => out };
}

/** SIGKILL, and wait for the process to be gone. */
export async function kill(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGKILL');
  await exited;
}
