import { describe, expect, it } from 'vitest';
import { retryDelays } from '../core/retry-policy.js';
import { COMMAND_RETRY_POLICY } from './handle-command.js';

describe('COMMAND_RETRY_POLICY', () => {
  it('is 10 full-jitter waits from 5 ms up to 500 ms, none of them immediate', () => {
    expect(retryDelays(COMMAND_RETRY_POLICY, () => 0)).toEqual([5, 10, 20, 40, 80, 160, 320, 500, 500, 500]);
    expect(retryDelays(COMMAND_RETRY_POLICY, () => 1).every((delay) => delay === 0)).toBe(true);
  });
});
