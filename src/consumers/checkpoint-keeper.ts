import { FactumError } from '../core/errors.js';
import type { Checkpoint, ConsumerStorage, ConsumerTx } from './consumer-storage.js';

/** A rebuild swapped the read model in under this transaction (its generation moved): reload and go on. */
export class GenerationChanged extends Error {}

/**
 * The checkpoint of one subscription: loaded once, then moved only by compare-and-set inside
 * the transaction that did the work, and taken as moved only once that transaction committed.
 * A second instance that moved it first makes the commit throw `CHECKPOINT_CONFLICT`; a rebuild
 * that swapped the read model in throws `GenerationChanged` after adopting its checkpoint.
 *
 * @example
 * const keeper = new CheckpointKeeper(storage, 'order-emails', 'order-emails', false, (c) => console.log(c.position))
 * await keeper.load()
 * await keeper.commit(async (tx) => 42n) // in one transaction: your writes, then the checkpoint
 */
export class CheckpointKeeper {
  private current?: Checkpoint;
  private staged?: Checkpoint;

  constructor(
    private readonly storage: ConsumerStorage,
    private readonly subscription: string,
    readonly name: string,
    private readonly relaxedDurability: boolean,
    /** Called after a commit moved it forward, or (`reset`) after a rebuild set it anew. */
    private readonly moved: (checkpoint: Checkpoint, reset: boolean) => void,
  ) {}

  get checkpoint(): Checkpoint | undefined {
    return this.current;
  }

  async load(): Promise<Checkpoint | undefined> {
    this.current = await this.storage.readCheckpoint(this.name);
    return this.current;
  }

  /**
   * Runs `fn` in a transaction that ends by saving the checkpoint at the position it returns;
   * after the commit, runs `committed` (state that must be in place before waiters look), then
   * takes the new checkpoint.
   */
  async commit(fn: (tx: ConsumerTx) => Promise<bigint>, committed?: () => void): Promise<void> {
    this.staged = undefined;
    await this.storage.transaction(async (tx) => {
      const position = await fn(tx);
      await this.save(tx, position);
    });
    committed?.();
    const staged = this.staged;
    this.staged = undefined;
    if (staged) {
      this.current = staged;
      this.moved(staged, false);
    }
  }

  /** Compare-and-set inside `tx`; throws when another instance moved it. */
  private async save(tx: ConsumerTx, position: bigint): Promise<void> {
    const expected = this.current;
    const found = await tx.saveCheckpoint(this.name, expected, position, { relaxedDurability: this.relaxedDurability });
    if (!found) {
      // Taken only when the transaction commits (see `commit`).
      this.staged = { position, generation: expected?.generation ?? 0 };
      return;
    }
    if (expected && found.generation !== expected.generation && found.generation >= 0) {
      // A rebuild swapped the read model in: this transaction rolls back; go on from its checkpoint.
      this.current = found;
      this.moved(found, true);
      throw new GenerationChanged();
    }
    if (!expected) {
      // Created meanwhile by a concurrent start: adopt it.
      this.staged = found;
      return;
    }
    throw new FactumError(
      'CHECKPOINT_CONFLICT',
      `Subscription "${this.subscription}": another instance moved the checkpoint "${this.name}" to ${found.position} (expected ${expected.position}); this one stops`,
      { details: { name: this.name, expected: expected.position.toString(), found: found.position.toString() } },
    );
  }
}
