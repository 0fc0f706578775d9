import type { RecordedEvent } from '../../core/message.js';

/** What an append needs to know of a stream. */
export interface StreamHead {
  version: number;
  softDeleted: boolean;
  tombstoned: boolean;
}

/** What an append reads and writes: the memory store's log, or a transaction's draft of it. */
export interface MemoryLogView {
  streamHead(streamId: string): StreamHead | undefined;
  eventById(id: string): RecordedEvent | undefined;
  /** The last position handed out. */
  readonly head: bigint;
  /** Records one append's events (consecutive versions and positions after the current ones). */
  record(streamId: string, events: RecordedEvent[]): void;
}

/**
 * A memory transaction's appends, held back from the log until commit. The store lets no
 * other writer in while the transaction is open, so the versions and positions drawn here are
 * the ones the events get; readers see the log as it was until the draft is committed, all at once.
 */
export class MemoryDraft implements MemoryLogView {
  /** Each append as recorded, in order. */
  readonly staged: Array<{ streamId: string; events: RecordedEvent[] }> = [];
  private readonly heads = new Map<string, StreamHead>();
  private readonly byId = new Map<string, RecordedEvent>();
  head: bigint;

  constructor(private readonly log: MemoryLogView) {
    this.head = log.head;
  }

  streamHead(streamId: string): StreamHead | undefined {
    return this.heads.get(streamId) ?? this.log.streamHead(streamId);
  }

  eventById(id: string): RecordedEvent | undefined {
    return this.byId.get(id) ?? this.log.eventById(id);
  }

  record(streamId: string, events: RecordedEvent[]): void {
    const last = events[events.length - 1]!;
    this.heads.set(streamId, { version: last.streamVersion, softDeleted: false, tombstoned: false });
    for (const event of events) this.byId.set(event.id, event);
    this.head = last.globalPosition;
    this.staged.push({ streamId, events });
  }

  /** Writes the staged appends to the log. */
  commit(): void {
    for (const { streamId, events } of this.staged) this.log.record(streamId, events);
  }
}
