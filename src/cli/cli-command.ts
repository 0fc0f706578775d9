import { InvalidArgumentError, type Command } from 'commander';
import { cliOutput, type CliOutput } from './cli-output.js';
import type { StoreFlags } from './cli-store.js';

/** The options of the whole program, given before or after the command's name. */
export interface GlobalFlags extends StoreFlags {
  json?: boolean;
}

/**
 * The action of a command, given its arguments, its own options merged with the global ones,
 * and where to write. A thrown error is printed by main.ts, which sets the exit code.
 */
export function action<A extends unknown[], O extends object>(run: (args: A, flags: O & GlobalFlags, out: CliOutput) => Promise<void>) {
  return async (...received: unknown[]): Promise<void> => {
    // commander passes the arguments, then the command's options, then the command itself.
    const command = received[received.length - 1] as Command;
    const flags = command.optsWithGlobals<O & GlobalFlags>();
    await run(received.slice(0, -2) as A, flags, cliOutput(flags.json ?? false));
  };
}

/** Parses an integer option (commander's argParser), refusing what is not one. */
export function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    return Number(value);
  };
}

/** Parses a global position (a bigint: positions can exceed 2^53). */
export function position(name: string): (value: string) => bigint {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a global position (a whole number >= 0), got "${value}"`);
    return BigInt(value);
  };
}

/** A comma-separated list. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** Resolves on the first SIGINT or SIGTERM: a long-running command (dashboard, serve) then closes what it opened and exits 0. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
