/**
 * Resolves after `ms` milliseconds. The timer does not hold the process open (`unref`): a retry
 * waiting on it never keeps a process alive that has nothing else to do.
 *
 * @example
 * await sleep(retryDelays(policy)[attempt])
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
