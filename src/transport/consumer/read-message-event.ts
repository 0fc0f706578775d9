import type { RecordedEvent } from '../../core/message.js';
import type { EventRegistry } from '../../schema/event-registry.js';
import type { BrokerMessage } from '../broker-message.js';
import { messageToEvent } from '../message-envelope.js';

/**
 * The event a broker message carries, as this service's code knows it: read from factum's
 * envelope, validated against the schema of the version it was published at, then upcast to the
 * current version (with a registry). Throws `INVALID_EVENT` for a message that is not a factum
 * event, `EVENT_SCHEMA_VIOLATION` for data its schema refuses (or an unregistered type, with a
 * strict registry) and `UPCAST_FAILED` for a version newer than this code knows: none of them can
 * succeed on a retry, so `EventConsumer` dead-letters them at once.
 *
 * @example
 * const event = await readMessageEvent(delivery.message, registry) // v1 on the wire, v2 here
 */
export async function readMessageEvent(message: BrokerMessage, registry?: EventRegistry): Promise<RecordedEvent> {
  return readReceivedEvent(messageToEvent(message), registry);
}

/**
 * `readMessageEvent` after the envelope: an event as it came on the wire (a dead letter keeps it
 * so), validated and upcast with the registry of the code running now.
 *
 * @example
 * const event = await readReceivedEvent(letter.event, registry) // a schema fixed since it failed
 */
export async function readReceivedEvent(event: RecordedEvent, registry?: EventRegistry): Promise<RecordedEvent> {
  if (!registry) return event;
  const type = registry.get(event.type);
  // A newer version is left to `upcast`, whose error says to deploy the newer definition
  // (`validate` would only say that the version is not declared).
  if (!type || event.schemaVersion <= type.version) await registry.validate([event]);
  return registry.upcast(event);
}
