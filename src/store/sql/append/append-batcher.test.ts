import { describe, expect, it } from 'vitest';
import { AppendBatcher, type QueuedAppend } from './append-batcher.js';

interface Item {
  streamId: string;
  eventId: string;
  bytes: number;
}

/** A batcher whose statements end when the test says; it records each batch it was sent. */
function harness(maxInFlight: number, maxBatch: number, slowMs = 10_000, maxBatchBytes = 1_000_000) {
  const sent: { ids: string[]; finish: (error?: Error) => void }[] = [];
  const statement = (items: Item[], settle: (outcome: (id: string) => string) => void, fail: (error: Error) => void) =>
    sent.push({ ids: items.map((i) => i.eventId), finish: (error) => (error ? fail(error) : settle((id) => `done ${id}`)) });
  const batcher = new AppendBatcher<Item, string>(
    {
      one: (item) => new Promise<string>((resolve, reject) => statement([item], (outcome) => resolve(outcome(item.eventId)), reject)),
      many: (batch: QueuedAppend<Item, string>[]) =>
        new Promise<void>((resolve, reject) =>
          statement(batch.map((a) => a.item), (outcome) => {
            for (const append of batch) append.resolve(outcome(append.item.eventId));
            resolve();
          }, reject),
        ),
    },
    maxInFlight,
    maxBatch,
    slowMs,
    maxBatchBytes,
  );
  const submit = (streamId: string, eventId: string, bytes = 100) => batcher.submit({ streamId, eventId, bytes });
  return { sent, submit };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AppendBatcher', () => {
  it('sends an append at once while a statement slot is free', async () => {
    const { sent, submit } = harness(2, 10);
    const a = submit('s-1', 'a');
    const b = submit('s-2', 'b');
    expect(sent.map((s) => s.ids)).toEqual([['a'], ['b']]);
    sent[0]!.finish();
    sent[1]!.finish();
    expect(await Promise.all([a, b])).toEqual(['done a', 'done b']);
  });

  it('gathers appends that arrive while the slots are busy into one statement, oldest first, up to maxBatch', async () => {
    const { sent, submit } = harness(1, 3);
    const first = submit('s-0', 'x');
    const waiting = ['a', 'b', 'c', 'd'].map((id, i) => submit(`s-${i + 1}`, id));
    expect(sent.map((s) => s.ids)).toEqual([['x']]);
    sent[0]!.finish();
    await first;
    await tick();
    expect(sent.map((s) => s.ids)).toEqual([['x'], ['a', 'b', 'c']]);
    sent[1]!.finish();
    await tick();
    expect(sent[2]!.ids).toEqual(['d']);
    sent[2]!.finish();
    expect(await Promise.all(waiting)).toEqual(['done a', 'done b', 'done c', 'done d']);
  });

  it('never decides two appends of one stream (or one event id) together: the second goes alone, at once', async () => {
    const { sent, submit } = harness(1, 10);
    void submit('busy', 'x');
    const queued = [submit('s-1', 'a'), submit('s-1', 'b'), submit('s-2', 'a'), submit('s-3', 'c')];
    const hot = submit('busy', 'y');
    // 'y' is for a stream being written: it did not wait.
    expect(sent.map((s) => s.ids)).toEqual([['x'], ['y']]);
    sent[0]!.finish();
    await tick();
    expect(sent.slice(2).map((s) => s.ids)).toEqual([['a', 'c'], ['b'], ['a']]);
    for (const statement of sent.slice(1)) statement.finish();
    expect(await Promise.all([...queued, hot])).toEqual(['done a', 'done b', 'done a', 'done c', 'done y']);
  });

  it('fails the appends of a statement that fails, and goes on with the next', async () => {
    const { sent, submit } = harness(1, 10);
    const broken = submit('s-1', 'a');
    const next = submit('s-2', 'b');
    sent[0]!.finish(new Error('connection lost'));
    await expect(broken).rejects.toThrow('connection lost');
    await tick();
    expect(sent[1]!.ids).toEqual(['b']);
    sent[1]!.finish();
    expect(await next).toBe('done b');
  });

  it('stops counting a statement that takes longer than slowMs, so it holds nothing back', async () => {
    const { sent, submit } = harness(1, 10, 20);
    void submit('s-1', 'stuck');
    const later = submit('s-2', 'b');
    expect(sent).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sent.map((s) => s.ids)).toEqual([['stuck'], ['b']]);
    sent[1]!.finish();
    expect(await later).toBe('done b');
    sent[0]!.finish();
  });

  it('stops a batch at maxBatchBytes, but sends an append bigger than that alone', async () => {
    const { sent, submit } = harness(1, 10, 10_000, 1000);
    void submit('s-0', 'x');
    const waiting = [submit('s-1', 'a', 600), submit('s-2', 'b', 300), submit('s-3', 'c', 300), submit('s-4', 'd', 5000)];
    sent[0]!.finish();
    for (let i = 1; i <= 3; i++) {
      await tick();
      sent[i]!.finish();
    }
    expect(sent.slice(1).map((s) => s.ids)).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(await Promise.all(waiting)).toEqual(['done a', 'done b', 'done c', 'done d']);
  });
});
