import type { EventStore } from '../core/event-store.js';
import { sqlAccess } from '../store/sql-access.js';
import { consumerStorageFor } from './consumer-storage.js';
import type { DeadLetter } from './consumer-storage.js';

/**
 * Every dead letter of a store (failed events and those parked behind them), of every runner
 * that keeps them beside the log, grouped by runner name in log order. For operators: the
 * CLI's `factum dead-letters`. The memory store keeps them per process: only its own.
 *
 * @example
 * for (const letter of await allDeadLetters(store)) console.log(letter.subscription, letter.status, letter.streamId)
 */
export async function allDeadLetters(store: EventStore): Promise<DeadLetter[]> {
  const storage = consumerStorageFor(store);
  const sql = sqlAccess(store);
  if (!sql) return [];
  let owners: string[];
  try {
    const { rows } = await sql.client.query<{ subscription: string }>(`SELECT DISTINCT subscription FROM ${sql.names.s}dead_letters ORDER BY subscription`);
    owners = rows.map((r) => r.subscription);
  } catch (error) {
    throw sql.storageError('Listing dead letters', error);
  }
  const letters: DeadLetter[] = [];
  for (const owner of owners) letters.push(...(await storage.listDeadLetters(owner)));
  return letters;
}
