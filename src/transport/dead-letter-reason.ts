/**
 * What a dead letter records about the error that parked it: its message and, when it has one,
 * its code. Brokers store strings in headers, so both are strings.
 *
 * @example
 * deadLetterReason(new FactumError('STORAGE_ERROR', 'down')) // { error: 'down', errorCode: 'STORAGE_ERROR' }
 */
export function deadLetterReason(error: unknown): { error: string; errorCode?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { error: message, errorCode: code } : { error: message };
}
