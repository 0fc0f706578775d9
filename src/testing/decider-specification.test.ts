// The test kit: given/when/then for deciders and aggregates, readable failures, the test clock.
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../core/message.js';
import { Aggregate } from '../domain/aggregate.js';
import type { Command, Decider } from '../domain/decider.js';
import { DomainError } from '../domain/domain-error.js';
import { handleCommand } from '../domain/handle-command.js';
import { loadState } from '../domain/load-state.js';
// Through the `factum/testing` entry, as users import it.
import { createTestStore, DeciderSpecification, SpecificationError, TestClock } from '../testing.js';

type Deposited = NewEvent<'Deposited', { amount: number }>;
type Withdrawn = NewEvent<'Withdrawn', { amount: number }>;
type AccountEvent = Deposited | Withdrawn;
type AccountCommand = Command<'Deposit' | 'Withdraw', { amount: number }>;

const account: Decider<{ balance: number }, AccountCommand, AccountEvent> = {
  name: 'account',
  initialState: () => ({ balance: 0 }),
  evolve: (state, event) => ({ balance: state.balance + (event.type === 'Deposited' ? event.data.amount : -event.data.amount) }),
  decide: (command, state) => {
    if (command.data.amount === 0) return [];
    if (command.type === 'Deposit') return [{ type: 'Deposited', data: { amount: command.data.amount } }];
    if (command.data.amount > state.balance) throw new DomainError('InsufficientFunds', `Balance ${state.balance} is below ${command.data.amount}`);
    return [{ type: 'Withdrawn', data: { amount: command.data.amount } }];
  },
};

class Account extends Aggregate<{ balance: number }, AccountEvent> {
  initialState() {
    return { balance: 0 };
  }
  apply(state: { balance: number }, event: AccountEvent) {
    return account.evolve(state, event);
  }
  withdraw(amount: number) {
    if (amount > this.state.balance) throw new DomainError('InsufficientFunds');
    this.record({ type: 'Withdrawn', data: { amount } });
  }
  deposit(amount: number) {
    this.record({ type: 'Deposited', data: { amount } });
  }
}

const spec = DeciderSpecification.for(account);
const deposit = (amount: number): AccountCommand => ({ type: 'Deposit', data: { amount } });
const withdraw = (amount: number): AccountCommand => ({ type: 'Withdraw', data: { amount } });
const deposited = (amount: number): AccountEvent => ({ type: 'Deposited', data: { amount } });

function failure(run: () => void): SpecificationError {
  try {
    run();
  } catch (error) {
    return error as SpecificationError;
  }
  throw new Error('expected the specification to fail');
}

describe('DeciderSpecification', () => {
  it('passes when the decider does what the specification says', () => {
    spec.given([deposited(10)]).when(withdraw(4)).then([{ type: 'Withdrawn', data: { amount: 4 } }]);
    spec.given([]).when(deposit(0)).thenNothing();
    spec.given([deposited(10)]).when(withdraw(4)).thenState({ balance: 6 });
    spec.given([deposited(1)]).when(withdraw(4)).thenThrows('InsufficientFunds');
    spec.given([deposited(1)]).when(withdraw(4)).thenThrows(DomainError);
    spec.given([deposited(1)]).when(withdraw(4)).thenThrows((e) => (e as DomainError).message.includes('below 4'));
    spec.given([]).when(deposit(3)).then((events, state) => {
      if (events.length !== 1 || state.balance !== 3) throw new Error('unexpected');
    });
  });

  it('shows both event lists when they differ', () => {
    const error = failure(() => spec.given([deposited(10)]).when(withdraw(4)).then([{ type: 'Withdrawn', data: { amount: 5 } }]));
    expect(error).toBeInstanceOf(SpecificationError);
    expect(error.message).toContain('Decider "account"');
    expect(error.message).toBe(
      [
        'Decider "account"',
        '  given:',
        '    1. Deposited {"amount":10}',
        '  when: Withdraw {"amount":4}',
        '  expected events:',
        '    1. Withdrawn {"amount":5}',
        '  actual events:',
        '    1. Withdrawn {"amount":4}',
      ].join('\n'),
    );
    expect(error.expected).toEqual([{ type: 'Withdrawn', data: { amount: 5 } }]);
    expect(error.actual).toEqual([{ type: 'Withdrawn', data: { amount: 4 } }]);
  });

  it('says what was thrown when events were expected, and what was produced when an error was', () => {
    const threw = failure(() => spec.given([]).when(withdraw(4)).then([{ type: 'Withdrawn', data: { amount: 4 } }]));
    expect(threw.message).toMatch(/but it threw: DomainError \[DOMAIN_RULE_VIOLATED\/InsufficientFunds\]: Balance 0 is below 4/);
    const produced = failure(() => spec.given([deposited(10)]).when(withdraw(4)).thenThrows('InsufficientFunds'));
    expect(produced.message).toMatch(/expected: an error with reason or code "InsufficientFunds"\n {2}but it produced events:\n {4}1\. Withdrawn \{"amount":4\}/);
    const other = failure(() => spec.given([]).when(withdraw(4)).thenThrows('AccountClosed'));
    expect(other.message).toContain('but it threw: DomainError [DOMAIN_RULE_VIOLATED/InsufficientFunds]');
    const state = failure(() => spec.given([deposited(1)]).when(deposit(1)).thenState({ balance: 3 }));
    expect(state.message).toMatch(/expected state: \{"balance":3\}\n {2}actual state: {3}\{"balance":2\}/);
  });

  it('compares metadata only when the expectation gives it', () => {
    const withMeta: Decider<{ balance: number }, AccountCommand, AccountEvent> = { ...account, decide: () => [{ type: 'Deposited', data: { amount: 1 }, metadata: { source: 'atm' } }] };
    const s = DeciderSpecification.for(withMeta);
    s.given([]).when(deposit(1)).then([deposited(1)]);
    s.given([]).when(deposit(1)).then([{ ...deposited(1), metadata: { source: 'atm' } }]);
    expect(failure(() => s.given([]).when(deposit(1)).then([{ ...deposited(1), metadata: { source: 'web' } }])).message).toMatch(/actual events:\n {4}1\. Deposited \{"amount":1\} \(metadata \{"source":"atm"\}\)/);
  });

  it('works for aggregates', () => {
    const aggregateSpec = DeciderSpecification.forAggregate(Account, (a, c: AccountCommand) => (c.type === 'Deposit' ? a.deposit(c.data.amount) : a.withdraw(c.data.amount)));
    aggregateSpec.given([deposited(5)]).when(withdraw(5)).then([{ type: 'Withdrawn', data: { amount: 5 } }]);
    aggregateSpec.given([deposited(5)]).when(withdraw(6)).thenThrows('InsufficientFunds');
    expect(failure(() => aggregateSpec.given([]).when(deposit(2)).thenNothing()).message).toMatch(/Decider "Account"[\s\S]*expected events: \(none\)\n {2}actual events:\n {4}1\. Deposited \{"amount":2\}/);
  });
});

describe('TestClock and createTestStore', () => {
  it('stamps events with the test clock and moves only when told', async () => {
    const { store, clock, snapshots } = createTestStore({ start: '2030-05-01T00:00:00Z' });
    await handleCommand(store, 'account-1', deposit(5), account, { snapshots });
    clock.advance({ hours: 2, minutes: 30 });
    await handleCommand(store, 'account-1', deposit(7), account, { snapshots });
    const { events } = await store.loadStream('account-1');
    expect(events.map((e) => e.recordedAt.toISOString())).toEqual(['2030-05-01T00:00:00.000Z', '2030-05-01T02:30:00.000Z']);
    // Temporal query on the test clock: the state as of one hour in.
    const early = await store.loadStream('account-1', { asOf: new Date('2030-05-01T01:00:00Z') });
    expect(early.events).toHaveLength(1);
    expect((await loadState(store, 'account-1', account)).state).toEqual({ balance: 12 });
  });

  it('refuses to move backwards with advance, but can be set', () => {
    const clock = new TestClock(0);
    expect(() => clock.advance(-1)).toThrow(/only move forward/);
    expect(clock.set('2001-01-01T00:00:00Z').toISOString()).toBe('2001-01-01T00:00:00.000Z');
    expect(clock.advance(1500).getTime()).toBe(Date.parse('2001-01-01T00:00:01.500Z'));
  });
});
