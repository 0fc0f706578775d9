/**
 * The four services and the read models, started together in one process. Each service only
 * reads events and appends to its own streams, so each could run in a process of its own on
 * PostgreSQL with no change: they share the log, never a call. With a checkout saga (the
 * orchestrated mode) the saga's runner and the orders' closer run in place of the four
 * services' reactions: the saga tells each service what to do (checkout/).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FactumError, InlineProjections, ProjectionRunner, snapshotStoreFor, type DeadLetter, type EventStore, type SnapshotStore, type Subscription, type SubscriptionStatus } from '../../src/index.js';
import { inventoryService } from './inventory/inventory-service.js';
import { ordersService } from './orders/orders-service.js';
import { paymentsService } from './payments/payments-service.js';
import { customerOrders } from './orders/customer-orders.js';
import { orderSummary } from './orders/order-summary.js';
import { revenuePerDay } from './payments/revenue-per-day.js';
import { stockLevels } from './inventory/stock-levels.js';
import { startService } from './service.js';
import { shippingService } from './shipping/shipping-service.js';
import { startCheckoutFlow, type CheckoutFlow } from './checkout/checkout-flow.js';
import type { CheckoutSaga } from './checkout/checkout-saga.js';

export const SERVICES = [ordersService, paymentsService, inventoryService, shippingService];
export const ASYNC_PROJECTIONS = [orderSummary, stockLevels, revenuePerDay];
export const INLINE_PROJECTIONS = [customerOrders];

/** Anything that follows the log: a service's subscription, a projection's runner, the saga's runner. */
export interface Follower {
  status(): SubscriptionStatus;
  waitFor(position: bigint, options?: { timeoutMs?: number }): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;
  stop(): Promise<void>;
}

/** The most a subscription fell behind while the run was busy. */
export interface LagPeak {
  events: bigint;
  seconds: number;
}

export class Shop {
  /** Failed handler attempts per follower (each was retried; the last ones end as dead letters). */
  readonly failures = new Map<string, number>();
  readonly peaks = new Map<string, LagPeak>();
  private stopSampling?: () => void;
  private readonly snapshotWrites = new Set<Promise<boolean>>();
  private readonly snapshots: SnapshotStore;
  /** The orchestrated checkout, while it runs. */
  checkout?: CheckoutFlow;

  private constructor(
    readonly store: EventStore,
    private readonly followers: Map<string, Follower>,
    private readonly inline: InlineProjections,
    private readonly saga?: CheckoutSaga,
  ) {
    this.snapshots = snapshotStoreFor(store);
  }

  /** With `saga`, checkout is orchestrated by it; without, the services choreograph it. */
  static async start(store: EventStore, options: { saga?: CheckoutSaga } = {}): Promise<Shop> {
    const inline = await new InlineProjections(store, INLINE_PROJECTIONS).start();
    const followers = new Map<string, Follower>();
    const shop = new Shop(store, followers, inline, options.saga);
    for (const projection of ASYNC_PROJECTIONS) {
      followers.set(projection.name, await new ProjectionRunner(store, projection, { batchSize: 100, pollIntervalMs: 250, onError: shop.onError(projection.name) }).start());
    }
    await shop.startServices();
    // Lag is sampled at every append, while the run is busy (once it settles every lag is zero).
    // Not on a timer: on PGlite a busy run is one long chain of promises and timers wait for it.
    shop.stopSampling = store.onAppended(() => shop.sampleLag());
    return shop;
  }

  private onError(name: string): () => void {
    return () => void this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
  }

  private async startServices(): Promise<void> {
    if (this.saga) {
      this.checkout = await startCheckoutFlow(this.store, this.saga, { onError: (name) => this.onError(name) });
      for (const [name, follower] of this.checkout.followers) this.followers.set(name, follower);
      return;
    }
    const onSnapshot = (written: Promise<boolean>) => {
      this.snapshotWrites.add(written);
      void written.then(() => this.snapshotWrites.delete(written));
    };
    for (const service of SERVICES) {
      const subscription: Subscription = await startService(this.store, service, { snapshots: this.snapshots, onSnapshot, onError: this.onError(service.name) });
      this.followers.set(service.name, subscription);
    }
  }

  /**
   * Stops the four services (after the batch each has in hand); the read models keep following.
   * Nothing is lost: `resumeServices` starts them again from their checkpoints. The seeded run
   * uses it so that what the customers do in a wave is in the log before any service reacts.
   */
  async pauseServices(): Promise<void> {
    const names = this.checkout ? [...this.checkout.followers.keys()] : SERVICES.map((s) => s.name);
    for (const name of names) await this.followers.get(name)?.stop();
  }

  async resumeServices(): Promise<void> {
    await this.startServices();
  }

  names(): string[] {
    return [...this.followers.keys()];
  }

  statuses(): SubscriptionStatus[] {
    return [...this.followers.values()].map((f) => f.status());
  }

  private sampleLag(): void {
    for (const status of this.statuses()) {
      const peak = this.peaks.get(status.name) ?? { events: 0n, seconds: 0 };
      this.peaks.set(status.name, {
        events: status.lagEvents > peak.events ? status.lagEvents : peak.events,
        seconds: Math.max(peak.seconds, status.lagSeconds),
      });
    }
  }

  /**
   * Resolves when the flows have settled: every follower has handled the whole log, and the log
   * did not grow meanwhile (a step handled late may still have appended the next one), and no
   * checkout saga is still waiting (for an answer, or for its timer).
   */
  async settle(timeoutMs = 120_000): Promise<bigint> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const head = await this.store.headPosition();
      await Promise.all([...this.followers.values()].map((f) => f.waitFor(head, { timeoutMs: Math.max(1, until - Date.now()) })));
      if ((await this.store.headPosition()) !== head) continue;
      if (!(await this.checkout?.busy())) return head;
      if (Date.now() > until) throw new FactumError('WAIT_TIMEOUT', `The checkout sagas did not settle within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async deadLetters(): Promise<Array<{ follower: string; letter: DeadLetter }>> {
    const all = await Promise.all([...this.followers].map(async ([name, f]) => (await f.deadLetters()).map((letter) => ({ follower: name, letter }))));
    return all.flat();
  }

  async stop(): Promise<void> {
    this.stopSampling?.();
    for (const follower of this.followers.values()) await follower.stop();
    await this.inline.stop();
    await Promise.all(this.snapshotWrites);
  }
}
