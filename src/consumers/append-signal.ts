import type { EventStore } from '../core/event-store.js';
import { storeCapabilities } from '../core/store-capabilities.js';
import { sqlAccess } from '../store/sql-access.js';
import { ServiceKey, storeServices } from '../store/store-services.js';

type Listener = () => void;

/**
 * "Something was appended": the wake-up of subscriptions, one per store object, shared by all
 * its subscribers. Two sources feed it: appends made in this process (every store), and on
 * PostgreSQL a NOTIFY sent by a trigger at the commit of any append, from any process, heard
 * on one dedicated LISTEN connection. Polling stays as the fallback in the subscription loop.
 */
export class AppendSignal {
  private readonly listeners = new Set<Listener>();
  private offInProcess?: () => void;
  private unlisten?: Promise<(() => Promise<void>) | undefined>;
  private reconnect?: NodeJS.Timeout;

  private constructor(private readonly store: EventStore) {}

  private static readonly key = new ServiceKey<AppendSignal>('consumers.appendSignal');

  /** The signal of `store` (created on first use), shared with every registry wrapper around it. */
  static of(store: EventStore): AppendSignal {
    return storeServices(store).get(AppendSignal.key, () => new AppendSignal(store));
  }

  /**
   * Calls `listener` on every wake-up until the returned function is called. The first
   * subscriber opens the LISTEN connection (PostgreSQL), the last one closes it.
   */
  async subscribe(listener: Listener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    if (this.listeners.size === 1) await this.open();
    return async () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      await this.shut();
    };
  }

  private fire = (): void => {
    for (const listener of this.listeners) listener();
  };

  private async open(): Promise<void> {
    this.offInProcess = this.store.onAppended(this.fire);
    this.connect();
    await this.unlisten;
  }

  private connect(): void {
    if (!storeCapabilities(this.store).listen) return;
    const sql = sqlAccess(this.store);
    if (!sql?.client.listen) return;
    this.unlisten = sql.client
      .listen(sql.names.appendChannel, this.fire, () => this.retryLater())
      // Without LISTEN the subscriptions still poll: slower, never wrong. Try again later.
      .catch(() => (this.retryLater(), undefined));
  }

  private retryLater(): void {
    if (this.reconnect || this.listeners.size === 0) return;
    const broken = this.unlisten;
    this.unlisten = undefined;
    void broken?.then((off) => off?.()).catch(() => {});
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      if (this.listeners.size === 0) return;
      this.connect();
      // Events committed while the connection was down wake nobody: wake everyone once.
      this.fire();
    }, 1000);
    this.reconnect.unref();
  }

  private async shut(): Promise<void> {
    this.offInProcess?.();
    this.offInProcess = undefined;
    if (this.reconnect) clearTimeout(this.reconnect);
    this.reconnect = undefined;
    const off = await this.unlisten;
    this.unlisten = undefined;
    await off?.().catch(() => {});
  }
}
