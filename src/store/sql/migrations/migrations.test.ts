// The migrations are numbered by their file names, and the numbers databases have recorded never change.
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './migrations.js';

describe('migrations', () => {
  it('lists every numbered file once, in the order of the numbers, each with its file number as version', async () => {
    const files = (await readdir(new URL('.', import.meta.url))).filter((file) => /^\d{3}-.*\.ts$/.test(file) && !file.endsWith('.test.ts')).sort();
    expect(files.map((file) => Number(file.slice(0, 3)))).toEqual(MIGRATIONS.map((m) => m.version));
    expect(files.map((_, i) => i + 1)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('keeps the versions and names that existing databases recorded as applied', () => {
    // A database records (version, name) when it applies a migration, and applies again every
    // version it has not recorded: renumbering one would apply it twice.
    expect(MIGRATIONS.map((m) => [m.version, m.name])).toEqual([
      [1, 'event log, streams and the append function'],
      [2, 'checkpoints, dead letters, inbox and partition leases'],
      [3, 'snapshots'],
      [4, 'appends write only the log; streams keep metadata and deletions'],
      [5, 'dead letters: retrying status, error code and stack'],
      [6, 'workflow instances and durable timers'],
      [7, 'semantic locks and workflow phases'],
      [8, 'streams: versions archived before'],
      [9, 'dead-letter requests for the running owner'],
      [10, 'runner reports for runners without a checkpoint'],
    ]);
  });
});
