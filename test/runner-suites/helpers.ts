import type { NewEvent } from '../../src/core/message.js';

export const ev = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data });

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds (or fails after `timeoutMs`): for conditions with no event to await. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export { caught } from '../caught.js';
