import type { BoundState, ConsistencyBound, LagSample } from './consistency-bound.js';

/** The verdict on one runner's samples (oldest first) over a window ending at `now`. */
export interface WindowVerdict {
  state: BoundState;
  breached: boolean;
  etaSeconds?: number;
}

/**
 * Burrow-style evaluation of a runner's lag over a sliding window (see `BoundState`), with its
 * bound checked on the latest sample. Pure: the monitor feeds it the samples it kept.
 *
 * @example
 * evaluateWindow([{ at: 0, position: 10n, lagEvents: 5, lagSeconds: 1, running: true }, ...], { seconds: 2 }, 60_000, Date.now())
 */
export function evaluateWindow(samples: readonly LagSample[], bound: ConsistencyBound, windowMs: number, now: number): WindowVerdict {
  const start = samples.findIndex((s) => s.at >= now - windowMs);
  const inWindow = start < 0 ? [] : samples.slice(start);
  const last = inWindow[inWindow.length - 1];
  if (!last || !last.running) return { state: 'stopped', breached: last ? breached(last, bound) : true };
  const isBreached = breached(last, bound);
  if (inWindow.some((s) => s.lagEvents === 0)) return { state: 'ok', breached: isBreached };
  // Progress is measured from the last sample before the window when there is one (where the
  // window began); a runner sampled once is judged by its lag alone until there is a second.
  const first = samples[start - 1] ?? inWindow[0]!;
  if (first === last) return { state: 'ok', breached: isBreached };
  const progressed = last.position > first.position;
  if (!progressed) return { state: 'stalled', breached: isBreached };
  const eta = etaSeconds(first, last);
  if (last.lagEvents < first.lagEvents) return { state: 'ok', breached: isBreached, ...(eta === undefined ? {} : { etaSeconds: eta }) };
  return { state: 'lagging', breached: isBreached };
}

function breached(sample: LagSample, bound: ConsistencyBound): boolean {
  return (bound.seconds !== undefined && sample.lagSeconds > bound.seconds) || (bound.events !== undefined && sample.lagEvents > bound.events);
}

/** Lag over the rate at which it shrank between the two samples; undefined when it did not. */
function etaSeconds(first: LagSample, last: LagSample): number | undefined {
  const seconds = (last.at - first.at) / 1000;
  const shrinkPerSecond = (first.lagEvents - last.lagEvents) / seconds;
  if (!(seconds > 0) || shrinkPerSecond <= 0) return undefined;
  return last.lagEvents / shrinkPerSecond;
}
