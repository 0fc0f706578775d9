/**
 * Which run this is. Each `npm start` appends `ShopRunStarted` to one stream, expecting the
 * version it read: two runs started at the same moment get different numbers (one retries).
 * A store keeps to the checkout mode of its first run: a choreographed run would react to an
 * orchestrated run's orders (and a saga runner would take every past order in), so a run in the
 * other mode is refused (`ShopModeMismatch`).
 */
import { DomainError, handleCommand, type Decider, type EventStore, type NewEvent } from '../../src/index.js';

export const RUN_LOG_STREAM = 'shop-runs';

/** How checkout is done: the services react to each other, or a saga tells each what to do. */
export type ShopMode = 'choreography' | 'orchestrated';

/** `mode` absent: a run from before the orchestrated mode existed, a choreographed one. */
export type ShopRunStarted = NewEvent<'ShopRunStarted', { run: number; seed: number; orders: number; mode?: ShopMode }>;
type StartRun = { type: 'StartRun'; data: { seed: number; orders: number; mode: ShopMode } };

const runLog: Decider<{ runs: number; mode?: ShopMode }, StartRun, ShopRunStarted> = {
  name: 'run-log',
  initialState: () => ({ runs: 0 }),
  evolve: (state, event) => ({ runs: state.runs + 1, mode: event.data.mode ?? 'choreography' }),
  decide: (command, state) => {
    if (state.mode && state.mode !== command.data.mode) {
      throw new DomainError('ShopModeMismatch', `This store holds ${state.runs} ${state.mode} run(s) of the shop; a ${command.data.mode} run needs a store of its own`, { mode: state.mode });
    }
    return [{ type: 'ShopRunStarted', data: { run: state.runs + 1, ...command.data } }];
  },
};

export interface RunStart {
  run: number;
  /** Position of the ShopRunStarted event: this run's events come after it. */
  position: bigint;
}

export async function startRun(store: EventStore, seed: number, orders: number, mode: ShopMode = 'choreography'): Promise<RunStart> {
  const result = await handleCommand(store, RUN_LOG_STREAM, { type: 'StartRun', data: { seed, orders, mode } }, runLog);
  return { run: result.state.runs, position: result.events[0]!.globalPosition };
}
