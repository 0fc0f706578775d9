import type { RecordedEvent } from '../core/message.js';
import type { DeadLetter } from './consumer-storage.js';
import type { DeliveryHost } from './delivery-host.js';

/**
 * Handles one page with handlers outside transactions (`transactional: false`): each event
 * handled, then the checkpoint saved up to it once the page is done, or with the failure record
 * of a failing event (a crash in between repeats events, never skips them). Parking happens in
 * a transaction, with the checkpoint.
 *
 * @example
 * await deliverOutside(host, page.events, page.position)
 */
export async function deliverOutside(host: DeliveryHost, events: RecordedEvent[], end: bigint): Promise<void> {
  const { drain } = host;
  let done = host.position();
  const saveUpTo = async (position: bigint) => {
    if (position > host.position()) await host.commit(async () => position);
  };
  for (const stored of events) {
    if (host.isStopping()) return saveUpTo(done);
    if (drain.blocked.has(stored.streamId)) {
      await host.commit(async (tx) => {
        await drain.park(tx, stored);
        return host.positionOf(stored);
      });
    } else {
      try {
        await host.handleOutside(stored, 1);
      } catch (error) {
        let letter: DeadLetter | undefined;
        await host.commit(
          async (tx) => {
            letter = await drain.recordFailure(tx, stored, error);
            return host.positionOf(stored);
          },
          () => drain.held(letter!, error),
        );
      }
    }
    done = host.positionOf(stored);
  }
  await saveUpTo(end);
}
