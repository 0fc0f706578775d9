/**
 * Sizes of one run. The full run fits in about 10 minutes on 2 cores; `--quick` is a smoke run
 * of about a minute for CI, whose figures mean nothing.
 */
export interface BenchConfig {
  quick: boolean;
  /** Length of one measured round of the timed scenarios (1 to 4), and of their warm-up. */
  roundMs: number;
  warmUpMs: number;
  /** Measured rounds of the timed scenarios (each system once per round, interleaved). */
  rounds: number;
  /** Scenario 4: events in the loaded stream, and how many such streams are loaded in turn. */
  streamLength: number;
  loadStreams: number;
  /** Scenario 5: events in $all, written in appends of `readAllAppendSize`, read `readAllRounds` times. */
  readAllEvents: number;
  readAllAppendSize: number;
  readAllRounds: number;
  /** A system whose reads have taken this long (warm-up included) gets no further rounds. */
  readAllBudgetSeconds: number;
  /** Rows per round trip when reading (factum's default page size). */
  pageSize: number;
  /** Scenario 6: events imported per round, in streams of `importStreamSize`, `importRounds` times. */
  importEvents: number;
  importStreamSize: number;
  importRounds: number;
}

export function benchConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        roundMs: 150,
        warmUpMs: 50,
        rounds: 2,
        streamLength: 1000,
        loadStreams: 3,
        readAllEvents: 5_000,
        readAllAppendSize: 1000,
        readAllRounds: 1,
        readAllBudgetSeconds: 10,
        pageSize: 1000,
        importEvents: 20_000,
        importStreamSize: 10_000,
        importRounds: 1,
      }
    : {
        quick,
        roundMs: 1000,
        warmUpMs: 500,
        rounds: 5,
        streamLength: 1000,
        loadStreams: 20,
        readAllEvents: 200_000,
        readAllAppendSize: 1000,
        readAllRounds: 3,
        readAllBudgetSeconds: 45,
        pageSize: 1000,
        importEvents: 1_000_000,
        importStreamSize: 10_000,
        importRounds: 2,
      };
}
