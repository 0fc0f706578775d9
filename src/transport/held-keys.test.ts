import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from './broker-message.js';
import { HeldKeys } from './held-keys.js';

const message = (key: string): BrokerMessage => ({ id: randomUUID(), key, headers: {}, body: Buffer.from(key) });

describe('HeldKeys', () => {
  it('admits a free key; a held key admits only its holder, which frees it', () => {
    const held = new HeldKeys();
    const [a1, a2] = [message('a'), message('a')];
    expect(held.admit('t', a1)).toBeUndefined();
    held.hold('t', a1);
    expect(held.admit('t', a2)).toBe(a1.id);
    expect(held.admit('t', message('b'))).toBeUndefined();
    expect(held.admit('other', a2)).toBeUndefined();
    expect(held.admit('t', a1)).toBeUndefined();
    expect(held.size).toBe(0);
    expect(held.admit('t', a2)).toBeUndefined();
  });

  it('keeps the hold in place on hold, replaces it on holdInstead', () => {
    const held = new HeldKeys();
    const [a1, a2] = [message('a'), message('a')];
    held.hold('t', a1);
    held.hold('t', a2);
    expect(held.admit('t', a2)).toBe(a1.id);
    held.holdInstead('t', a2);
    expect(held.admit('t', a1)).toBe(a2.id);
  });
});
