import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WakeUps } from './wake-ups.js';

describe('wake-ups of other processes', () => {
  let sent = 0;
  let wakeUps: WakeUps;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    sent = 0;
    wakeUps = new WakeUps(async () => void sent++);
  });
  afterEach(() => {
    wakeUps.close();
    vi.useRealTimers();
  });

  it('the first append after a quiet spell carries the NOTIFY; the ones right after it do not', () => {
    expect(wakeUps.carry()).toBe(true);
    wakeUps.ended(true, true);
    vi.advanceTimersByTime(1);
    expect(wakeUps.carry()).toBe(false);
    vi.advanceTimersByTime(10);
    expect(wakeUps.carry()).toBe(true);
  });

  it('appends that no carrier follows get one NOTIFY of their own, a few milliseconds later', () => {
    wakeUps.ended(wakeUps.carry(), true);
    for (let i = 0; i < 3; i++) wakeUps.ended(wakeUps.carry(), true);
    expect(sent).toBe(0);
    vi.advanceTimersByTime(10);
    expect(sent).toBe(1);
    vi.advanceTimersByTime(100);
    expect(sent).toBe(1);
  });

  it('under a steady stream of appends, carriers cover everything and nothing is sent on its own', () => {
    for (let ms = 0; ms < 200; ms++) {
      const carried = wakeUps.carry();
      wakeUps.ended(carried, true);
      vi.advanceTimersByTime(1);
    }
    expect(sent).toBe(0);
    vi.advanceTimersByTime(10);
    expect(sent).toBe(1);
  });

  it('a carrier that failed took its NOTIFY with it: the appends it would have covered get one', () => {
    wakeUps.ended(false, true);
    const carried = wakeUps.carry();
    expect(carried).toBe(true);
    wakeUps.ended(carried, false);
    vi.advanceTimersByTime(10);
    expect(sent).toBe(1);
    expect(wakeUps.carry()).toBe(true);
  });

  it('failed appends that carried nothing ask for nothing', () => {
    wakeUps.carry();
    wakeUps.ended(true, true);
    vi.advanceTimersByTime(1);
    wakeUps.ended(wakeUps.carry(), false);
    vi.advanceTimersByTime(100);
    expect(sent).toBe(0);
  });
});
