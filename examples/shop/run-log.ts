/**
 * Which run this is. Each `npm start` appends `ShopRunStarted` to one stream, expecting the
 * version it read: two runs started at the same moment get different numbers (one retries).
 */
import { handleCommand, type Decider, type EventStore, type NewEvent } from '../../src/index.js';

export const RUN_LOG_STREAM = 'shop-runs';

export type ShopRunStarted = NewEvent<'ShopRunStarted', { run: number; seed: number; orders: number }>;
type StartRun = { type: 'StartRun'; data: { seed: number; orders: number } };

const runLog: Decider<{ runs: number }, StartRun, ShopRunStarted> = {
  name: 'run-log',
  initialState: () => ({ runs: 0 }),
  evolve: (state) => ({ runs: state.runs + 1 }),
  decide: (command, state) => [{ type: 'ShopRunStarted', data: { run: state.runs + 1, ...command.data } }],
};

export interface RunStart {
  run: number;
  /** Position of the ShopRunStarted event: this run's events come after it. */
  position: bigint;
}

export async function startRun(store: EventStore, seed: number, orders: number): Promise<RunStart> {
  const result = await handleCommand(store, RUN_LOG_STREAM, { type: 'StartRun', data: { seed, orders } }, runLog);
  return { run: result.state.runs, position: result.events[0]!.globalPosition };
}
