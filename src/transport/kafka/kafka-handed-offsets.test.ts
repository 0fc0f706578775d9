import { describe, expect, it } from 'vitest';
import { HANDED_AHEAD, HandedOffsets, attemptAfter, decodeHanded, encodeHanded, type HandedCommit } from './kafka-handed-offsets.js';

/** Commits answered when the test says so, in order, as Kafka answers one member's commits. */
function committer(assigned: HandedCommit = { offset: -1n, attempts: 0, through: -1n }) {
  const sent: HandedCommit[] = [];
  const answers: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  const offsets = new HandedOffsets(
    assigned,
    (commit) => new Promise<void>((resolve, reject) => (sent.push(commit), answers.push({ resolve, reject }))),
    () => {},
  );
  const answer = async (error?: unknown) => {
    const next = answers.shift()!;
    if (error) next.reject(error);
    else next.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { offsets, sent, answer };
}

const settledOf = async (promise: Promise<unknown>) => {
  let settled = false;
  void promise.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
};

describe('HandedOffsets', () => {
  it('round-trips the metadata and counts attempts after a takeover as before', () => {
    const commit = decodeHanded(5n, encodeHanded({ offset: 5n, attempts: 3, through: 9n }));
    expect(commit).toEqual({ offset: 5n, attempts: 3, through: 9n });
    expect([4n, 5n, 6n, 9n, 10n].map((at) => attemptAfter(commit, at))).toEqual([1, 4, 2, 2, 1]);
    expect(decodeHanded(7n, null)).toEqual({ offset: 7n, attempts: 0, through: -1n });
  });

  it('waits for a commit before the first handling, then hands the next records within its reach without one', async () => {
    const { offsets, sent, answer } = committer();
    const first = offsets.beforeHandling([{ offset: 0n, attempt: 1 }]);
    expect(sent).toEqual([{ offset: 0n, attempts: 1, through: HANDED_AHEAD }]);
    expect(await settledOf(first)).toBe(false);
    await answer();
    expect(await settledOf(first)).toBe(true);
    offsets.settledTo(1n);
    // Covered by the commit acknowledged and by the one in flight: no wait.
    expect(await settledOf(offsets.beforeHandling([{ offset: 1n, attempt: 1 }, { offset: 2n, attempt: 1 }]))).toBe(true);
    expect(sent).toHaveLength(2);
  });

  it('coalesces settled commits while one is in flight, the latest replacing the queued one', async () => {
    const { offsets, sent, answer } = committer({ offset: 0n, attempts: 1, through: 50n });
    offsets.settledTo(1n);
    offsets.settledTo(2n);
    offsets.settledTo(3n);
    expect(sent.map((c) => c.offset)).toEqual([1n]);
    await answer();
    expect(sent.map((c) => c.offset)).toEqual([1n, 3n]);
    await answer();
    expect(sent).toHaveLength(2);
  });

  it('commits and waits when the head comes again at a higher attempt, or records pass the reach', async () => {
    const { offsets, sent, answer } = committer({ offset: 10n, attempts: 1, through: 20n });
    const retried = offsets.beforeHandling([{ offset: 10n, attempt: 2 }]);
    expect(sent).toEqual([{ offset: 10n, attempts: 2, through: 10n + HANDED_AHEAD }]);
    await answer();
    expect(await settledOf(retried)).toBe(true);
    offsets.settledTo(11n);
    await answer();
    const past = 11n + HANDED_AHEAD;
    const beyond = offsets.beforeHandling([{ offset: 11n, attempt: 1 }, { offset: past, attempt: 1 }]);
    expect(sent.at(-1)).toEqual({ offset: 11n, attempts: 1, through: past + HANDED_AHEAD });
    expect(await settledOf(beyond)).toBe(false);
    await answer();
    expect(await settledOf(beyond)).toBe(true);
  });

  it('does not trust a commit that failed: the next handling commits again', async () => {
    const { offsets, sent, answer } = committer();
    const failed = expect(offsets.beforeHandling([{ offset: 0n, attempt: 1 }])).rejects.toThrow('rebalancing');
    await answer(new Error('rebalancing'));
    await failed;
    void offsets.beforeHandling([{ offset: 0n, attempt: 1 }]).catch(() => {});
    expect(sent).toHaveLength(2);
  });

  it('on a stop commits the exact state: nothing handed past the records handed, the head its own count', async () => {
    const { offsets, sent, answer } = committer();
    void offsets.beforeHandling([{ offset: 0n, attempt: 1 }, { offset: 1n, attempt: 1 }, { offset: 2n, attempt: 1 }]);
    await answer();
    offsets.settledTo(1n);
    await answer();
    const final = offsets.final();
    expect(sent.at(-1)).toEqual({ offset: 1n, attempts: 1, through: 2n });
    await answer();
    await final;
    offsets.settledTo(3n);
    await answer();
    void offsets.final();
    expect(sent.at(-1)).toEqual({ offset: 3n, attempts: 0, through: 2n });
  });
});
