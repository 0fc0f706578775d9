import { describe, expect, it } from 'vitest';
import type { LagSample } from './consistency-bound.js';
import { evaluateWindow } from './evaluate-window.js';

const at = (seconds: number, position: number, lagEvents: number, running = true): LagSample => ({ at: seconds * 1000, position: BigInt(position), lagEvents, lagSeconds: lagEvents / 10, running });
const WINDOW = 10_000;

describe('evaluateWindow (Burrow-style rules over a window)', () => {
  it('is ok when the lag reached zero in the window, even if it has lag now', () => {
    expect(evaluateWindow([at(1, 10, 0), at(5, 10, 4), at(9, 12, 8)], {}, WINDOW, 9000).state).toBe('ok');
  });

  it('is lagging when it progresses but its lag does not shrink', () => {
    expect(evaluateWindow([at(1, 10, 5), at(5, 20, 7), at(9, 30, 9)], {}, WINDOW, 9000)).toEqual({ state: 'lagging', breached: false });
  });

  it('is ok and estimates the time to catch up while its lag shrinks', () => {
    // 40 events of lag gone in 8 s: 5 per second, 20 left: 4 s.
    expect(evaluateWindow([at(1, 10, 60), at(9, 90, 20)], {}, WINDOW, 9000)).toEqual({ state: 'ok', breached: false, etaSeconds: 4 });
  });

  it('is stalled when it has lag and made no progress in the window', () => {
    expect(evaluateWindow([at(1, 10, 5), at(5, 10, 9), at(9, 10, 12)], {}, WINDOW, 9000).state).toBe('stalled');
  });

  it('is stopped when the runner is not running, or nothing was sampled in the window', () => {
    expect(evaluateWindow([at(1, 10, 0), at(9, 10, 0, false)], {}, WINDOW, 9000).state).toBe('stopped');
    expect(evaluateWindow([at(1, 10, 0)], {}, WINDOW, 20_000).state).toBe('stopped');
  });

  it('judges only the samples inside the window: an old zero lag does not make it ok', () => {
    expect(evaluateWindow([at(1, 10, 0), at(15, 10, 5), at(20, 10, 9)], {}, WINDOW, 20_000).state).toBe('stalled');
  });

  it('is breached above its bound in seconds or in events, on the latest sample', () => {
    expect(evaluateWindow([at(1, 10, 0), at(9, 20, 30)], { seconds: 2 }, WINDOW, 9000).breached).toBe(true);
    expect(evaluateWindow([at(1, 10, 0), at(9, 20, 30)], { seconds: 3 }, WINDOW, 9000).breached).toBe(false);
    expect(evaluateWindow([at(1, 10, 0), at(9, 20, 30)], { events: 29 }, WINDOW, 9000).breached).toBe(true);
    expect(evaluateWindow([at(1, 10, 50), at(9, 20, 3)], { events: 29 }, WINDOW, 9000).breached).toBe(false);
  });
});
