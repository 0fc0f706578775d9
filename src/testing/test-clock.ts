/**
 * A clock that moves only when told: pass `clock.now` to `MemoryEventStore({ now })` (or to
 * anything that takes a time source) and tests about time, such as stream max age or
 * `asOf` queries, run instantly and the same every time.
 *
 * @example
 * const clock = new TestClock('2026-01-01T00:00:00Z')
 * const store = new MemoryEventStore({ now: clock.now })
 * await store.append('s-1', [{ type: 'Happened', data: null }])
 * clock.advance({ hours: 1 })
 */
export class TestClock {
  private current: number;

  constructor(start: Date | string | number = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
    if (Number.isNaN(this.current)) throw new Error(`TestClock: invalid start time ${String(start)}`);
  }

  /** The current time; a bound function, so it can be passed around on its own. */
  readonly now = (): Date => new Date(this.current);

  /** Moves the clock forward by milliseconds, or by a duration. */
  advance(by: number | { ms?: number; seconds?: number; minutes?: number; hours?: number; days?: number }): Date {
    const ms = typeof by === 'number' ? by : (by.ms ?? 0) + (by.seconds ?? 0) * 1e3 + (by.minutes ?? 0) * 6e4 + (by.hours ?? 0) * 3.6e6 + (by.days ?? 0) * 8.64e7;
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`TestClock: can only move forward, got ${ms} ms`);
    this.current += ms;
    return this.now();
  }

  /** Sets the time (forward or back). */
  set(to: Date | string | number): Date {
    const next = new Date(to).getTime();
    if (Number.isNaN(next)) throw new Error(`TestClock: invalid time ${String(to)}`);
    this.current = next;
    return this.now();
  }
}
