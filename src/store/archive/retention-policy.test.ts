import { describe, expect, it } from 'vitest';
import { retentionRuleFor } from './retention-policy.js';

describe('retentionRuleFor', () => {
  const policy = {
    rules: [
      { maxAgeSeconds: 3600 },
      { category: 'order', maxCount: 100 },
      { streamId: 'order-vip', beforeVersion: 10 },
    ],
  };

  it('takes the stream rule, else the category rule, else the rule for every stream', () => {
    expect(retentionRuleFor(policy, 'order-vip')).toEqual({ streamId: 'order-vip', beforeVersion: 10 });
    expect(retentionRuleFor(policy, 'order-1')).toEqual({ category: 'order', maxCount: 100 });
    expect(retentionRuleFor(policy, 'cart-1')).toEqual({ maxAgeSeconds: 3600 });
    expect(retentionRuleFor({ rules: [{ category: 'order', maxCount: 1 }] }, 'cart-1')).toBeUndefined();
  });

  it('refuses rules without a limit, bad limits and two rules for one target', () => {
    expect(() => retentionRuleFor({ rules: [{ category: 'order' }] }, 'order-1')).toThrow(/sets no limit/);
    expect(() => retentionRuleFor({ rules: [{ category: 'order', maxCount: 0 }] }, 'order-1')).toThrow(/maxCount must be an integer >= 1/);
    expect(() => retentionRuleFor({ rules: [{ maxAgeSeconds: -1 }] }, 'order-1')).toThrow(/maxAgeSeconds/);
    expect(() => retentionRuleFor({ rules: [{ category: 'order', maxCount: 1 }, { category: 'order', beforeVersion: 2 }] }, 'order-1')).toThrow(/Two retention rules for category order/);
    expect(() => retentionRuleFor({} as never, 'order-1')).toThrow(/rules/);
    expect(() => retentionRuleFor({ rules: [{ streamId: 'a-1' }] }, 'a-1')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
