import { describe, expect, it } from 'vitest';
import { pagedIterator } from './paged-iterator.js';

/** An iterator over `pages`, counting the fetches. */
function pagesOf(pages: number[][]) {
  const fetched = { count: 0 };
  const iterator = pagedIterator(async () => {
    const page = pages[fetched.count];
    fetched.count++;
    return page;
  });
  return { iterator, fetched };
}

describe('pagedIterator', () => {
  it('hands out every item in order, skipping empty pages, and fetches a page only when needed', async () => {
    const { iterator, fetched } = pagesOf([[1, 2], [], [3], [4, 5, 6]]);
    const seen: number[] = [];
    for await (const item of iterator) {
      seen.push(item);
      if (item === 2) expect(fetched.count).toBe(1);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fetched.count).toBe(5);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('answers next() calls made without waiting in the order they were made', async () => {
    const { iterator } = pagesOf([[1], [2, 3], [4]]);
    const results = await Promise.all(Array.from({ length: 6 }, () => iterator.next()));
    expect(results.map((r) => (r.done ? 'done' : r.value))).toEqual([1, 2, 3, 4, 'done', 'done']);
  });

  it('ends with the error of a failed fetch, and fetches nothing more', async () => {
    let calls = 0;
    const iterator = pagedIterator(async () => {
      calls++;
      if (calls === 2) throw new Error('the database went away');
      return [calls];
    });
    expect(await iterator.next()).toEqual({ value: 1, done: false });
    await expect(iterator.next()).rejects.toThrow('the database went away');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(calls).toBe(2);
  });

  it('stops on break and tells the source', async () => {
    let returned = 0;
    let fetches = 0;
    const iterator = pagedIterator(
      async () => {
        fetches++;
        return [1, 2, 3];
      },
      async () => void returned++,
    );
    for await (const item of iterator) if (item === 2) break;
    expect(returned).toBe(1);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(fetches).toBe(1);
  });
});
