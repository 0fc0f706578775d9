import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { FactumError } from '../../core/errors.js';
import type { EventMetadata } from '../../core/message.js';
import { importEvents, type ImportEvent } from '../../store/import/import-events.js';
import { action, integer } from '../cli-command.js';
import { progressBar, type ProgressBar } from '../cli-progress-bar.js';
import { withStore } from '../cli-store.js';

export function importCommand(program: Command): void {
  program
    .command('import')
    .description(
      'Append events from JSON lines ({"streamId","type","data", optional "id","metadata","schemaVersion"}; `factum export` writes them) at the end of their streams, in batches that are each all-or-nothing. Event ids are kept, so importing a file twice fails at its first event instead of doubling it',
    )
    .argument('<file>', 'the JSONL file, or - for stdin')
    .option('--batch-size <count>', 'events per transaction', integer('--batch-size'), 10_000)
    .action(
      action<[string], { batchSize: number }>(async ([file], flags, out) => {
        const input = file === '-' ? process.stdin : createReadStream(file);
        const opened = new Promise<void>((resolve, reject) => (file === '-' ? resolve() : input.once('open', () => resolve()).once('error', reject)));
        await opened.catch((error: NodeJS.ErrnoException) => {
          throw new FactumError(error.code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `Cannot read ${file}: ${error.message}`, { cause: error });
        });
        const bar = progressBar('import', file === '-' ? 0 : statSync(file).size);
        const started = Date.now();
        let imported = 0;
        const result = await withStore(
          flags,
          (store) =>
            importEvents(store, parseLines(input, bar), {
              batchSize: flags.batchSize,
              onProgress: (p) => (imported = p.events),
            }).catch((error: unknown) => {
              // A bad line stops the import: its batch is not written, the ones before it are.
              if (error instanceof FactumError && typeof error.details?.line === 'number') {
                throw new FactumError(error.code, `${error.message}; ${imported} events of earlier batches were imported, nothing of this batch`, {
                  cause: error,
                  details: { ...error.details, imported },
                });
              }
              throw error;
            }),
          { create: true, migrate: true },
        ).finally(() => bar.stop());
        const seconds = (Date.now() - started) / 1000;
        out.result({ ...result, seconds }, () => out.line(`Imported ${result.events} events (last position ${result.lastPosition}) in ${seconds.toFixed(1)} s.`));
      }),
    );
}

/** The file's events, one per non-blank line; a line that is not one is an error naming it. */
async function* parseLines(input: NodeJS.ReadableStream, bar: ProgressBar): AsyncGenerator<ImportEvent> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  let bytes = 0;
  for await (const line of lines) {
    number++;
    bytes += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    if (number % 1000 === 0) bar.update(bytes, { events: number });
    yield toImportEvent(line, number);
  }
}

function toImportEvent(line: string, number: number): ImportEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw badLine(number, `it is not JSON (${(error as Error).message})`);
  }
  const e = value as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badLine(number, 'it is not a JSON object');
  if (typeof e.streamId !== 'string' || e.streamId === '') throw badLine(number, '"streamId" must be a non-empty string');
  if (typeof e.type !== 'string' || e.type === '') throw badLine(number, '"type" must be a non-empty string');
  if (!('data' in e)) throw badLine(number, '"data" is missing');
  if (e.metadata !== undefined && (typeof e.metadata !== 'object' || e.metadata === null || Array.isArray(e.metadata))) throw badLine(number, '"metadata" must be an object');
  if (e.schemaVersion !== undefined && !Number.isInteger(e.schemaVersion)) throw badLine(number, '"schemaVersion" must be an integer');
  if (e.id !== undefined && typeof e.id !== 'string') throw badLine(number, '"id" must be a string');
  return {
    streamId: e.streamId,
    type: e.type,
    data: e.data,
    ...(e.id !== undefined ? { id: e.id as string } : {}),
    ...(e.metadata !== undefined ? { metadata: e.metadata as EventMetadata } : {}),
    ...(e.schemaVersion !== undefined ? { schemaVersion: e.schemaVersion as number } : {}),
  };
}

function badLine(line: number, reason: string): FactumError {
  return new FactumError('INVALID_EVENT', `Line ${line} is not an event: ${reason}`, { details: { line } });
}
