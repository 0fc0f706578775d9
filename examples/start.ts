/**
 * `npm start`: factum's event store at work on the embedded PGlite store (./.factum/db).
 * Opens three bank accounts, moves money with optimistic concurrency, rebuilds each account's
 * state from its events, shows a conflict being caught, a temporal query and a gap-safe read of
 * $all. Run it again: it continues from the stored state.
 * Set FACTUM_DATABASE_URL=postgres://... to run the same on PostgreSQL, or FACTUM_DATA_DIR to keep
 * the embedded files elsewhere.
 */
import { isConcurrencyError, openEventStore, type EventStore, type RecordedEvent } from '../src/index.js';

interface Account {
  owner: string;
  balance: number;
  transactions: number;
}

type AccountEvent =
  | { type: 'AccountOpened'; data: { owner: string } }
  | { type: 'MoneyDeposited'; data: { amount: number } }
  | { type: 'MoneyWithdrawn'; data: { amount: number } };

/** State is never stored: it is rebuilt from the facts, every time. */
function evolve(state: Account, event: RecordedEvent): Account {
  const e = event as unknown as AccountEvent;
  switch (e.type) {
    case 'AccountOpened':
      return { owner: e.data.owner, balance: 0, transactions: 0 };
    case 'MoneyDeposited':
      return { ...state, balance: state.balance + e.data.amount, transactions: state.transactions + 1 };
    case 'MoneyWithdrawn':
      return { ...state, balance: state.balance - e.data.amount, transactions: state.transactions + 1 };
  }
}

async function load(store: EventStore, id: string): Promise<{ state: Account; version: number }> {
  let state: Account = { owner: '?', balance: 0, transactions: 0 };
  let version = 0;
  for await (const event of store.readStream(id)) {
    state = evolve(state, event);
    version = event.streamVersion;
  }
  return { state, version };
}

const money = (cents: number) => `${(cents / 100).toFixed(2)} EUR`;

const location = process.env.FACTUM_DATABASE_URL || process.env.FACTUM_DATA_DIR || undefined;
const store = await openEventStore(location);
console.log(`factum: event store opened (${store.kind}${store.kind === 'pglite' ? `, files in ${location ?? './.factum/db'}` : ''})\n`);

const accounts = [
  ['account-ada', 'Ada Lovelace'],
  ['account-alan', 'Alan Turing'],
  ['account-grace', 'Grace Hopper'],
] as const;

const head = await store.headPosition();
console.log(head === 0n ? 'A new store: opening the accounts.' : `The log already holds events up to position ${head}: continuing.`);
for (const [id, owner] of accounts) {
  const info = await store.streamInfo(id);
  if (!info.exists) {
    await store.append(id, [{ type: 'AccountOpened', data: { owner } }], { expectedVersion: 'no_stream' });
    console.log(`  opened ${id} for ${owner}`);
  }
}

// A round of transfers: each one reads the account, decides, and appends with the version it read.
const round = Number((await store.streamInfo('account-ada')).version);
const transfers: Array<[string, string, number]> = [
  ['account-ada', 'account-alan', 1250 + round * 10],
  ['account-alan', 'account-grace', 700],
  ['account-grace', 'account-ada', 300 + round],
];
console.log('\nDeposits and transfers (each append checks the expected version):');
for (const [id] of accounts) {
  const { version } = await load(store, id);
  await store.append(id, [{ type: 'MoneyDeposited', data: { amount: 5000 } }], { expectedVersion: version });
}
for (const [from, to, amount] of transfers) {
  const source = await load(store, from);
  if (source.state.balance < amount) {
    console.log(`  ${from} cannot pay ${money(amount)}: balance ${money(source.state.balance)}`);
    continue;
  }
  const correlationId = `transfer-${from}-${to}-${Date.now()}`;
  await store.append(from, [{ type: 'MoneyWithdrawn', data: { amount }, metadata: { correlationId } }], { expectedVersion: source.version });
  await store.append(to, [{ type: 'MoneyDeposited', data: { amount }, metadata: { correlationId } }]);
  console.log(`  ${from} -> ${to}: ${money(amount)}`);
}

// Two writers who read the same version: one wins, the other gets a typed conflict and nothing is written.
const { version } = await load(store, 'account-alan');
await store.append('account-alan', [{ type: 'MoneyDeposited', data: { amount: 1 } }], { expectedVersion: version });
try {
  await store.append('account-alan', [{ type: 'MoneyWithdrawn', data: { amount: 1 } }], { expectedVersion: version });
} catch (error) {
  if (!isConcurrencyError(error)) throw error;
  console.log(`\nA stale writer was stopped: ${error.message}`);
}

console.log('\nState rebuilt from each stream:');
for (const [id] of accounts) {
  const { state, version: v } = await load(store, id);
  console.log(`  ${id.padEnd(14)} ${state.owner.padEnd(13)} balance ${money(state.balance).padStart(12)}  ${state.transactions} transactions, version ${v}`);
}

const first = (await store.loadStream('account-ada', { limit: 2 })).events;
if (first[1]) {
  const past = await store.loadStream('account-ada', { asOf: first[1].recordedAt });
  const state = past.events.reduce(evolve, { owner: '?', balance: 0, transactions: 0 });
  console.log(`\nTemporal query: account-ada as of ${first[1].recordedAt.toISOString()} had ${money(state.balance)}.`);
}

console.log('\nThe last events of $all (category "account", gap-safe order):');
const all: RecordedEvent[] = [];
for await (const event of store.readAll({ categories: ['account'] })) {
  all.push(event);
  if (all.length > 6) all.shift();
}
for (const e of all) console.log(`  #${e.globalPosition} ${e.streamId}@${e.streamVersion} ${e.type} ${JSON.stringify(e.data)}`);
console.log(`\nHead of the log: position ${await store.headPosition()}. Run \`npm start\` again to continue.`);
await store.close();
