#!/usr/bin/env node
// The `factum` bin. Exit codes: 0 done, 1 the command failed (a FactumError, printed with its
// code), 2 the command line was wrong (commander's message and the usage), 3 the work was asked
// for and is still pending (`dead-letters retry` that no running owner took within --wait).
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { isFactumError } from '../core/errors.js';
import { cliProgram } from './cli-program.js';
import { toJson } from './cli-output.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const json = process.argv.includes('--json');

try {
  await cliProgram(version).parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeOf(error);
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end this way too, with code 0; commander printed the rest already.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isFactumError(error)) {
    if (json) process.stderr.write(`${toJson({ error: { code: error.code, message: error.message, details: error.details } })}\n`);
    else process.stderr.write(`factum: ${error.message} [${error.code}]\n`);
    return 1;
  }
  // Not ours: a bug to report, so the stack is worth having.
  process.stderr.write(`factum: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}
