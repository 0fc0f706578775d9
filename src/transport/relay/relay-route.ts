import { streamCategory, type RecordedEvent } from '../../core/message.js';

/**
 * Where the relay publishes an event: a topic name, or `undefined` to leave it unpublished.
 *
 * @example
 * const route: RelayRoute = (event) => (event.type.startsWith('Internal') ? undefined : `shop.${streamCategory(event.streamId)}`)
 */
export type RelayRoute = (event: RecordedEvent) => string | undefined;

/**
 * The default route: the stream's category (the part of its id before the first `-`), so the
 * events of `order-42` go to topic `order`.
 *
 * @example
 * byCategory(event) // 'order' for an event of stream 'order-42'
 */
export const byCategory: RelayRoute = (event) => streamCategory(event.streamId);
