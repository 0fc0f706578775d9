/**
 * The harness of every suite that runs on each store: one `describe` per store, each test's
 * stores closed after it, and stores that cannot run a suite listed as skipped with the reason
 * (the service is unreachable, or the store lacks a capability the suite needs), never dropped.
 *
 * @example
 * describeOnStores('read models', (on) => {
 *   it('keeps totals', async () => { const store = await on.open(); ... })
 * }, { needs: ['sql'] })
 */
import { describe, it, type TestFunction, type TestOptions } from 'vitest';
import type { EventStore } from '../src/core/event-store.js';
import { storeCapabilities, type StoreCapabilities } from '../src/core/store-capabilities.js';
import { openedStores } from './opened-stores.js';
import { storeFactories, type StoreFactory } from './stores.js';

/** One store a suite runs on, as its tests see it. */
export interface StoreUnderTest {
  readonly factory: StoreFactory;
  readonly name: StoreFactory['name'];
  /** The store's name in titles (a variant's label when it has one). */
  readonly label: string;
  /** A fresh, empty store, closed after the test; it declares what `factory.capabilities` says. */
  open(options?: Parameters<StoreFactory['open']>[0]): Promise<EventStore>;
  /** What the store declares (`factory.capabilities`), for tests that depend on it. */
  readonly capabilities: StoreCapabilities;
  /**
   * `it` where `run` holds; elsewhere `it.skip`, its title ending in `(skipped: <reason>)`.
   *
   * @example
   * on.itIf(on.capabilities.sql, 'the memory store has no tables')('keeps totals in a table', async () => { ... })
   */
  itIf(run: boolean, reason: string): SuiteTest;
}

/** A test of a suite, as `it` takes it. */
export type SuiteTest = (title: string, fn: TestFunction, options?: number | TestOptions) => void;

export interface OnStoresOptions {
  /** Capabilities the suite needs; a store without one of them is skipped, saying which. */
  needs?: (keyof StoreCapabilities)[];
  /** The stores to run on: all three by default, or a filter, or a list (variants included). */
  stores?: StoreFactory[] | ((factory: StoreFactory) => boolean);
}

// Reached once per test file. With FACTUM_REQUIRE_SERVICES=1 an unreachable PostgreSQL throws here.
const everyStore = await storeFactories();

/** Runs `body` once per store, inside `describe('<title>: <store>')`. */
export function describeOnStores(title: string, body: (on: StoreUnderTest) => void, options: OnStoresOptions = {}): void {
  const factories = Array.isArray(options.stores) ? options.stores : everyStore.filter(options.stores ?? (() => true));
  for (const factory of factories) {
    const label = factory.label ?? factory.name;
    const missing = (options.needs ?? []).filter((need) => !factory.capabilities[need]);
    const reason = factory.skip ?? (missing.length > 0 ? `the ${factory.name} store has no ${missing.join(', ')}` : undefined);
    if (reason !== undefined) {
      // The tests are still collected, so each one is reported as skipped, under a title that says why.
      describe.skip(`${title}: ${label} (skipped: ${reason})`, () => body(unopenable(factory, label)));
      continue;
    }
    describe(`${title}: ${label}`, () => {
      const open = openedStores(factory);
      body({
        ...described(factory, label),
        async open(openOptions) {
          const store = await open(openOptions);
          checkDeclared(factory, store);
          return store;
        },
      });
    });
  }
}

/** The skip decision relied on the factory's word: hold every opened store to it. */
function checkDeclared(factory: StoreFactory, store: EventStore): void {
  const declared = storeCapabilities(store);
  const expected = factory.capabilities;
  const differing = (Object.keys(expected) as (keyof StoreCapabilities)[]).filter((key) => declared[key] !== expected[key]);
  if (differing.length > 0 || Object.keys(declared).length !== Object.keys(expected).length) {
    throw new Error(`test/stores.ts says the ${factory.name} store declares ${JSON.stringify(expected)}, it declares ${JSON.stringify(declared)}`);
  }
}

function unopenable(factory: StoreFactory, label: string): StoreUnderTest {
  return { ...described(factory, label), open: () => Promise.reject(new Error(`the ${label} store is skipped here`)) };
}

function described(factory: StoreFactory, label: string): Omit<StoreUnderTest, 'open'> {
  return {
    factory,
    name: factory.name,
    label,
    capabilities: factory.capabilities,
    itIf: (run, reason) => (run ? it : (title, fn, options) => it.skip(`${title} (skipped: ${reason})`, fn, options)),
  };
}
