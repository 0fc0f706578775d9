/**
 * Async iteration over items fetched a page at a time, for readStream and readAll.
 *
 * An async generator that yields each event of a page costs about 450 ns per event (its
 * queue, and a suspension and resumption per yield); here an event of the page in hand comes
 * back as an already-resolved promise, about 220 ns: some 4% of reading `$all` on PostgreSQL.
 * Behaves like a generator where users can tell: pages are fetched one at a time and only when
 * needed, an error ends the iteration, and `return()` (a `break` out of `for await`) stops it.
 */
export function pagedIterator<T>(nextPage: () => Promise<T[] | undefined>, onReturn?: () => Promise<unknown>): AsyncIterableIterator<T> {
  const finished: IteratorResult<T> = { value: undefined, done: true };
  let page: T[] = [];
  let at = 0;
  let done = false;
  /** next() calls not answered yet; while there are any, later calls queue behind them. */
  let waiting = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const fetch = async (): Promise<IteratorResult<T>> => {
    try {
      for (;;) {
        const next = done ? undefined : await nextPage();
        if (!next) {
          done = true;
          return finished;
        }
        if (next.length > 0) {
          page = next;
          at = 1;
          return { value: next[0]!, done: false };
        }
      }
    } catch (error) {
      done = true;
      throw error;
    }
  };

  const take = (): Promise<IteratorResult<T>> => {
    if (at < page.length) return Promise.resolve({ value: page[at++]!, done: false });
    return done ? Promise.resolve(finished) : fetch();
  };

  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (waiting === 0 && (at < page.length || done)) return take();
      waiting++;
      const result = queue.then(take);
      const answered = () => void waiting--;
      queue = result.then(answered, answered);
      return result;
    },
    async return() {
      done = true;
      page = [];
      await onReturn?.();
      return finished;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
