import { describe, expect, it } from 'vitest';
import { ReadAllSafety, safeEnd } from './read-all-safety.js';

describe('ReadAllSafety', () => {
  it('settles the head at once when no append is open', () => {
    expect(new ReadAllSafety().observe(10n, [])).toBe(10n);
  });

  it('settles an observation only when all of its appenders have ended', () => {
    const safety = new ReadAllSafety();
    expect(safety.observe(10n, ['3/1', '4/1'])).toBe(0n);
    expect(safety.observe(12n, ['4/1', '5/1'])).toBe(0n); // 4/1 still open
    expect(safety.observe(15n, ['5/1', '6/1'])).toBe(10n); // the first observation's appenders ended
    expect(safety.observe(16n, ['7/1'])).toBe(15n);
    expect(safety.observe(16n, [])).toBe(16n);
  });

  it('never moves the settled position back', () => {
    const safety = new ReadAllSafety();
    safety.observe(20n, []);
    expect(safety.observe(5n, [])).toBe(20n);
  });
});

describe('safeEnd', () => {
  it('walks contiguous positions', () => {
    expect(safeEnd(0n, [1n, 2n, 3n], 0n, false)).toEqual({ end: 3n });
  });

  it('stops before an unsettled hole and names it', () => {
    expect(safeEnd(0n, [1n, 2n, 4n, 5n], 2n, false)).toEqual({ end: 2n, hole: 3n });
  });

  it('passes a settled hole', () => {
    expect(safeEnd(0n, [1n, 4n, 5n], 3n, false)).toEqual({ end: 5n });
  });

  it('passes the settled part of a hole and stops at the rest', () => {
    expect(safeEnd(0n, [1n, 6n], 3n, false)).toEqual({ end: 3n, hole: 4n });
  });

  it('extends past the last row to the settled position only when the scan is complete', () => {
    expect(safeEnd(0n, [1n, 2n], 9n, true)).toEqual({ end: 9n });
    expect(safeEnd(0n, [1n, 2n], 9n, false)).toEqual({ end: 2n });
  });
});
