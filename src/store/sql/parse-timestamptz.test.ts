import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from './parse-timestamptz.js';

const iso = (text: string) => parseTimestamptz(text).toISOString();

describe('parseTimestamptz', () => {
  it('reads the ISO shape with any fraction, dropping digits past the millisecond', () => {
    expect(iso('2026-12-01 16:46:50+00')).toBe('2026-12-01T16:46:50.000Z');
    expect(iso('2026-12-01 16:46:50.1+00')).toBe('2026-12-01T16:46:50.100Z');
    expect(iso('2026-12-01 16:46:50.12+00')).toBe('2026-12-01T16:46:50.120Z');
    expect(iso('2026-12-01 16:46:50.123999+00')).toBe('2026-12-01T16:46:50.123Z');
    expect(iso('1999-12-31 23:59:59.999999+00')).toBe('1999-12-31T23:59:59.999Z');
  });

  it('applies offsets of hours, minutes and seconds, either sign', () => {
    expect(iso('2026-12-01 16:46:50.5+05:30')).toBe('2026-12-01T11:16:50.500Z');
    expect(iso('2026-01-01 00:10:00-03')).toBe('2026-01-01T03:10:00.000Z');
    expect(iso('1900-01-01 00:00:00-00:25:21')).toBe('1900-01-01T00:25:21.000Z');
    expect(iso('2026-03-01 00:00:00+14')).toBe('2026-02-28T10:00:00.000Z');
  });

  it('reads rare years and eras through the general form', () => {
    expect(iso('0050-06-15 12:00:00+00')).toBe('0050-06-15T12:00:00.000Z');
    expect(iso('12026-06-15 12:00:00.25+00')).toBe('+012026-06-15T12:00:00.250Z');
    expect(iso('0044-03-15 12:00:00+00 BC')).toBe('-000043-03-15T12:00:00.000Z');
  });

  it('gives an Invalid Date for what it cannot read', () => {
    for (const text of ['infinity', '-infinity', '12/01/2026 16:46:50 UTC', '2026-12-01T16:46:50Z', '2026-12-01 16:46:50.1+0', '']) {
      expect(Number.isNaN(parseTimestamptz(text).getTime()), text).toBe(true);
    }
  });
});
