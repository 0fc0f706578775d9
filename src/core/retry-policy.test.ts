import { describe, expect, it } from 'vitest';
import { retryDelays } from './retry-policy.js';

describe('retryDelays', () => {
  it('gives immediate retries, then exponential backoff capped at the maximum', () => {
    expect(retryDelays({ immediateRetries: 2, backoffRetries: 5, initialDelayMs: 100, factor: 3, maxDelayMs: 2000, jitter: 0 })).toEqual([0, 0, 100, 300, 900, 2000, 2000]);
  });

  it('draws jitter below the base delay, never above it', () => {
    expect(retryDelays({ immediateRetries: 0, backoffRetries: 2, initialDelayMs: 1000, jitter: 0.5 }, () => 1)).toEqual([500, 1000]);
    expect(retryDelays({ immediateRetries: 0, backoffRetries: 2, initialDelayMs: 1000, jitter: 0.5 }, () => 0)).toEqual([1000, 2000]);
  });

  it('has defaults: two immediate retries and three backoff retries', () => {
    expect(retryDelays({}, () => 0)).toEqual([0, 0, 100, 200, 400]);
  });

  it('refuses a policy it cannot follow with INVALID_ARGUMENT naming the option', () => {
    for (const policy of [{ backoffRetries: -1 }, { immediateRetries: 1.5 }, { initialDelayMs: Number.NaN }, { factor: -2 }, { jitter: 2 }]) {
      expect(() => retryDelays(policy)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`retry.${Object.keys(policy)[0]}`) }));
    }
  });
});
