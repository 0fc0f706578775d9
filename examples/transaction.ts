import { PGlite } from '@electric-sql/pglite';
import { DomainError, isConcurrencyError, isDomainError, openEventStore } from 'factum';

const store = await openEventStore(new PGlite()); // the embedded store, in memory; the same on PostgreSQL
await store.transaction((tx) => tx.sql.query('CREATE TABLE accounts (id text PRIMARY KEY, balance integer NOT NULL)'));

// A state-stored service: its table holds the balance, its events tell the rest of the system.
// Row and event commit together or not at all: no dual write, nothing for a relay to miss.
const open = (id: string, balance: number) =>
  store.transaction(async (tx) => {
    await tx.sql.query('INSERT INTO accounts VALUES ($1, $2)', [id, balance]);
    return tx.append(`account-${id}`, [{ type: 'AccountOpened', data: { balance } }], { expectedVersion: 'no_stream' });
  });
const withdraw = (id: string, amount: number, version: number) =>
  store.transaction(async (tx) => {
    const { rows } = await tx.sql.query<{ balance: number }>('UPDATE accounts SET balance = balance - $2 WHERE id = $1 RETURNING balance', [id, amount]);
    if (rows[0]!.balance < 0) throw new DomainError('InsufficientFunds', 'Not enough money on the account'); // rolls the UPDATE back
    await tx.append(`account-${id}`, [{ type: 'MoneyWithdrawn', data: { amount } }], { expectedVersion: version });
    return rows[0]!.balance;
  });
const balance = (id: string) => store.transaction(async (tx) => (await tx.sql.query<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [id])).rows[0]!.balance);

const { nextExpectedVersion } = await open('a1', 100);
console.log('balance after withdrawal:', await withdraw('a1', 30, nextExpectedVersion));
try {
  await withdraw('a1', 500, nextExpectedVersion + 1);
} catch (error) {
  if (isDomainError(error, 'InsufficientFunds')) console.log(`refused: ${error.message}; balance still ${await balance('a1')}`);
}
try {
  await withdraw('a1', 10, nextExpectedVersion); // decided on a version that is gone: the UPDATE is rolled back too
} catch (error) {
  if (isConcurrencyError(error)) console.log(`conflict: expected ${error.expectedVersion}, found ${error.actualVersion}; balance still ${await balance('a1')}`);
}
const { events } = await store.loadStream('account-a1');
console.log('account-a1:', events.map((e) => e.type).join(', '));
await store.close();
