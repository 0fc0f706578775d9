import { FactumError } from '../core/errors.js';
import type { RecordedEvent } from '../core/message.js';
import type { Checkpoint, ConsumerStorage, ConsumerTx, DeadLetter, DeadLetterStatus, Failure } from './consumer-storage.js';

/**
 * Consumer state for the memory store. A "transaction" stages its writes and applies them at
 * the end, all checks first, with no await in between: it commits whole or not at all.
 * Handlers' own effects in memory cannot be rolled back; on SQL stores they can.
 */
export class MemoryConsumerStorage implements ConsumerStorage {
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly deadLetters = new Map<string, DeadLetter>();
  private readonly inbox = new Set<string>();
  private nextId = 1;

  /** Inbox keys claimed by open transactions, so two concurrent deliveries cannot both pass. */
  readonly reserved = new Set<string>();
  /** Per locked key, the promise its last waiter holds it until (see `ConsumerTx.lockKeys`). */
  readonly keyLocks = new Map<string, Promise<void>>();

  async transaction<T>(fn: (tx: ConsumerTx) => Promise<T>): Promise<T> {
    const tx = new MemoryConsumerTx(this);
    try {
      const result = await fn(tx);
      tx.commit();
      return result;
    } finally {
      tx.unreserve();
      tx.unlock();
    }
  }

  async readCheckpoint(name: string): Promise<Checkpoint | undefined> {
    const checkpoint = this.checkpoints.get(name);
    return checkpoint ? { ...checkpoint } : undefined;
  }

  async listDeadLetters(subscription: string, options: { streamId?: string; status?: DeadLetterStatus } = {}): Promise<DeadLetter[]> {
    return [...this.deadLetters.values()]
      .filter((d) => d.subscription === subscription && (!options.streamId || d.streamId === options.streamId) && (!options.status || d.status === options.status))
      .sort((a, b) => (a.globalPosition < b.globalPosition ? -1 : a.globalPosition > b.globalPosition ? 1 : 0))
      .map((d) => ({ ...d }));
  }

  async blockedStreams(subscription: string): Promise<string[]> {
    return [...new Set([...this.deadLetters.values()].filter((d) => d.subscription === subscription).map((d) => d.streamId))];
  }

  async hasInbox(consumer: string, messageId: string): Promise<boolean> {
    return this.inbox.has(`${consumer}\u0000${messageId}`);
  }

  /** @internal applied by MemoryConsumerTx.commit */
  apply(ops: Array<() => void>, checks: Array<() => void>): void {
    for (const check of checks) check();
    for (const op of ops) op();
  }

  /** @internal */
  state(): { checkpoints: Map<string, Checkpoint>; deadLetters: Map<string, DeadLetter>; inbox: Set<string>; newId: () => string } {
    return { checkpoints: this.checkpoints, deadLetters: this.deadLetters, inbox: this.inbox, newId: () => String(this.nextId++) };
  }
}

class MemoryConsumerTx implements ConsumerTx {
  private readonly ops: Array<() => void> = [];
  private readonly checks: Array<() => void> = [];
  private readonly inboxSeen = new Set<string>();
  private readonly locked = new Set<string>();
  private readonly releases: Array<() => void> = [];

  constructor(private readonly storage: MemoryConsumerStorage) {}

  async lockKeys(scope: string, keys: string[]): Promise<void> {
    for (const key of [...new Set(keys)].sort()) {
      const id = `${scope}\u0000${key}`;
      if (this.locked.has(id)) continue;
      this.locked.add(id);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const before = this.storage.keyLocks.get(id) ?? Promise.resolve();
      const tail = before.then(() => held);
      this.storage.keyLocks.set(id, tail);
      this.releases.push(() => {
        release();
        if (this.storage.keyLocks.get(id) === tail) this.storage.keyLocks.delete(id);
      });
      await before;
    }
  }

  async heldKeys(subscription: string, keys: string[]): Promise<Set<string>> {
    const wanted = new Set(keys);
    const { deadLetters } = this.storage.state();
    return new Set([...deadLetters.values()].filter((d) => d.subscription === subscription && wanted.has(d.streamId)).map((d) => d.streamId));
  }

  /** Lets the next transaction waiting for one of this one's keys in (after commit or rollback). */
  unlock(): void {
    for (const release of this.releases.splice(0)) release();
  }

  async saveCheckpoint(name: string, expected: Checkpoint | undefined, position: bigint): Promise<Checkpoint | undefined> {
    const { checkpoints } = this.storage.state();
    const current = checkpoints.get(name);
    const matches = expected ? current?.position === expected.position && current.generation === expected.generation : current === undefined;
    if (!matches) return current ? { ...current } : { position: -1n, generation: -1 };
    const generation = expected?.generation ?? 0;
    this.checks.push(() => {
      const now = checkpoints.get(name);
      const still = expected ? now?.position === expected.position && now.generation === expected.generation : now === undefined;
      if (!still) throw new FactumError('CHECKPOINT_CONFLICT', `Checkpoint "${name}" moved during the transaction`, { details: { name } });
    });
    this.ops.push(() => checkpoints.set(name, { position, generation }));
    return undefined;
  }

  async recordInbox(consumer: string, messageId: string): Promise<boolean> {
    const key = `${consumer}\u0000${messageId}`;
    const { inbox } = this.storage.state();
    if (inbox.has(key) || this.storage.reserved.has(key)) return false;
    this.storage.reserved.add(key);
    this.inboxSeen.add(key);
    this.ops.push(() => inbox.add(key));
    return true;
  }

  async recordInboxes(consumer: string, messageIds: string[]): Promise<Set<string>> {
    const recorded = new Set<string>();
    for (const id of messageIds) if (await this.recordInbox(consumer, id)) recorded.add(id);
    return recorded;
  }

  async admitMessages(subscription: string, consumer: string, messages: Array<{ id: string; key: string }>): Promise<{ held: Set<string>; recorded: Set<string> }> {
    const held = await this.heldKeys(
      subscription,
      messages.map((m) => m.key),
    );
    const recorded = await this.recordInboxes(
      consumer,
      messages.filter((m) => !held.has(m.key)).map((m) => m.id),
    );
    return { held, recorded };
  }

  async forgetInbox(consumer: string, messageId: string): Promise<void> {
    const key = `${consumer}\u0000${messageId}`;
    if (!this.inboxSeen.delete(key)) return;
    this.storage.reserved.delete(key);
    const { inbox } = this.storage.state();
    this.ops.push(() => inbox.delete(key));
  }

  unreserve(): void {
    for (const key of this.inboxSeen) this.storage.reserved.delete(key);
  }

  async addDeadLetter(subscription: string, status: DeadLetterStatus, event: RecordedEvent, failure?: Failure): Promise<void> {
    const state = this.storage.state();
    this.ops.push(() => {
      if ([...state.deadLetters.values()].some((d) => d.subscription === subscription && d.event.id === event.id)) return;
      const id = state.newId();
      state.deadLetters.set(id, {
        id,
        subscription,
        status,
        streamId: event.streamId,
        globalPosition: event.globalPosition,
        event,
        ...(failure ? { ...failureFields(failure), firstFailedAt: failure.firstFailedAt, lastFailedAt: failure.lastFailedAt } : {}),
        attempts: failure?.attempts ?? 0,
      });
    });
  }

  async updateDeadLetter(id: string, change: { status?: 'dead' | 'retrying'; failure?: Failure }): Promise<void> {
    const { deadLetters } = this.storage.state();
    this.ops.push(() => {
      const letter = deadLetters.get(id);
      if (!letter) return;
      if (change.status) letter.status = change.status;
      if (change.failure) {
        delete letter.errorCode;
        delete letter.errorStack;
        Object.assign(letter, failureFields(change.failure));
        letter.attempts = change.failure.attempts;
        letter.firstFailedAt ??= change.failure.firstFailedAt;
        letter.lastFailedAt = change.failure.lastFailedAt;
      }
    });
  }

  async deleteDeadLetter(id: string): Promise<void> {
    const { deadLetters } = this.storage.state();
    this.ops.push(() => deadLetters.delete(id));
  }

  commit(): void {
    this.storage.apply(this.ops, this.checks);
  }
}

function failureFields(failure: Failure): Pick<DeadLetter, 'error' | 'errorCode' | 'errorStack'> {
  return { error: failure.error, ...(failure.code ? { errorCode: failure.code } : {}), ...(failure.stack ? { errorStack: failure.stack } : {}) };
}
