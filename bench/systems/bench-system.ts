import type { BenchEvent } from '../bench-event.js';

/** What a scenario asks of a system. A system that cannot do one names why in `cannot`. */
export type Capability = 'append' | 'appendExpected' | 'loadStream' | 'readAll' | 'bulkImport';

/** A slice of one stream in a bulk import: `events` are versions `firstVersion`.. of `streamId`. */
export interface ImportBatch {
  streamId: string;
  firstVersion: number;
  events: BenchEvent[];
}

/** Outcome of an append with an expected version. */
export type ExpectedAppend = { ok: true; version: number } | { ok: false };

/**
 * One system under test on one backend. Every method does the work through the system's own
 * public API, the way its documentation shows; all systems receive the same events.
 */
export interface BenchSystem {
  /** `factum`, `raw`, `emmett`, `castore`. */
  readonly name: string;
  readonly backend: 'postgres' | 'pglite';
  /** `name` plus backend, for logs. */
  readonly label: string;
  /** Capabilities it lacks, with the reason shown in the table. */
  readonly cannot: Partial<Record<Capability, string>>;
  /** Empties its tables (between scenarios). */
  reset(): Promise<void>;
  /** Appends `events` (versions 1..n) to a stream that must not exist yet. */
  appendNew(streamId: string, events: BenchEvent[]): Promise<void>;
  /** Appends one event if the stream is exactly at `expected`; `{ ok: false }` on a conflict. */
  appendExpected(streamId: string, event: BenchEvent, expected: number): Promise<ExpectedAppend>;
  /** Reads the events after `afterVersion` (a writer catching up after a conflict); returns the stream's version. */
  catchUp(streamId: string, afterVersion: number): Promise<number>;
  /** Loads a whole stream; returns how many events it got. */
  loadStream(streamId: string): Promise<number>;
  /** Reads every event in global order from the start, `pageSize` per round trip; returns the count. */
  readAll(pageSize: number): Promise<number>;
  /**
   * Refreshes the planner statistics of its tables, as autovacuum does on a server. Only the
   * unmeasured setup of scenario 5 calls it (PGlite has no autovacuum; see scenarios/read-all.ts).
   */
  analyze?(): Promise<void>;
  /** Fastest way it has to import many events of many streams; describes the path it used. */
  bulkImport?(source: AsyncIterable<ImportBatch>): Promise<string>;
  close(): Promise<void>;
}
