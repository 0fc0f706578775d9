/**
 * How far behind the log a runner may fall: in seconds (the age of its oldest unhandled event)
 * and/or in events. A runner outside its bound is "breached" whatever its state.
 *
 * @example
 * monitor.watch(orderSummaryRunner, { seconds: 2 }) // the read model is updated within 2 s of the write
 */
export interface ConsistencyBound {
  seconds?: number;
  events?: number;
}

/**
 * A runner's health over the monitor's window, after Burrow's rules for Kafka consumers:
 * - `ok`: its lag reached zero in the window, or it is shrinking;
 * - `lagging`: it makes progress, but its lag is not shrinking (it cannot keep up);
 * - `stalled`: it has lag and made no progress in the window (a stuck handler, a held lock);
 * - `stopped`: it is not running (stopped or failed), or reported nothing for longer than the window.
 */
export type BoundState = 'ok' | 'lagging' | 'stalled' | 'stopped';

/** One reading of a runner's status. */
export interface LagSample {
  /** When it was read, in ms since the epoch. */
  at: number;
  position: bigint;
  lagEvents: number;
  lagSeconds: number;
  running: boolean;
}

/** What the monitor concludes about one runner at one moment. */
export interface BoundReport {
  name: string;
  state: BoundState;
  /** Outside its bound now (lag above `seconds` or `events`). */
  breached: boolean;
  bound: ConsistencyBound;
  lagEvents: number;
  lagSeconds: number;
  /**
   * Seconds until the lag reaches zero at the pace seen over the window (events handled per
   * second minus events appended per second); undefined when it is not catching up.
   */
  etaSeconds?: number;
  /** Since when the runner has been in this state (ms since the epoch). */
  since: number;
}
