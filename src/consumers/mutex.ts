/** Runs async sections one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {});
    return result;
  }
}

/** A sleep that `wake()` (or `cancel()`) cuts short. */
export class Sleeper {
  private pending?: { timer: NodeJS.Timeout; resolve: () => void };
  /** Set by wake() while nobody slept: the next sleep returns at once, so no signal is lost. */
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(), ms);
      this.pending = { timer, resolve };
    });
  }

  /** Forgets earlier wake-ups (called right before looking for new work). */
  clear(): void {
    this.woken = false;
  }

  wake(): void {
    if (this.pending) this.finish();
    else this.woken = true;
  }

  private finish(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.resolve();
  }
}
