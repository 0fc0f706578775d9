/**
 * What must hold once the flows have settled, however the races went. Shared by the end-to-end
 * test and by the last lines `npm start` prints, in both modes (choreography and the
 * orchestrated checkout): what only one mode does is checked where it happened and holds
 * trivially in the other. Everything is checked against the log itself, the source of truth;
 * the read models are checked against a rebuild from it.
 */
import { WORKFLOW_LOG_TYPES, type EventStore, type Projection, type RecordedEvent } from '../../src/index.js';
import type { Line } from './events.js';
import { compareWithRebuild } from './read-models/rebuild-check.js';
import { sagaLogs, sagaOffence } from './checkout/saga-invariants.js';
import { ASYNC_PROJECTIONS, INLINE_PROJECTIONS } from './shop.js';

export interface InvariantResult {
  name: string;
  ok: boolean;
  /** What was checked, or the first offenders. */
  detail: string;
}

/** Everything the log says about one order. */
interface OrderFacts {
  placed: number;
  cancelled: number;
  ready: number;
  confirmed: number;
  shipped: number;
  charged: number;
  refunded: number;
  reserved: number;
  released: number;
  /** The orchestrated checkout's: a hold on the card, its capture or void, a shipment called back. */
  authorised: number;
  captured: number;
  voided: number;
  shipmentCancelled: number;
}

/** Shipped and not called back. */
const shippedNet = (f: OrderFacts): number => f.shipped - f.shipmentCancelled;
/** Money taken: charged at once (choreography) or captured after an authorisation (orchestrated). */
const taken = (f: OrderFacts): number => f.charged + f.captured;

const SHOP_CATEGORIES = ['order', 'payment', 'inventory', 'shipment'];

function factsByOrder(events: RecordedEvent[]): Map<string, OrderFacts> {
  const facts = new Map<string, OrderFacts>();
  const count: Partial<Record<string, keyof OrderFacts>> = {
    OrderPlaced: 'placed',
    OrderCancelled: 'cancelled',
    OrderReadyToShip: 'ready',
    OrderConfirmed: 'confirmed',
    OrderShipped: 'shipped',
    PaymentSucceeded: 'charged',
    PaymentRefunded: 'refunded',
    InventoryReserved: 'reserved',
    StockReleased: 'released',
    PaymentAuthorised: 'authorised',
    PaymentCaptured: 'captured',
    AuthorisationVoided: 'voided',
    ShipmentCancelled: 'shipmentCancelled',
  };
  for (const event of events) {
    const key = count[event.type];
    const orderId = (event.data as { orderId?: string }).orderId;
    if (!key || !orderId) continue;
    let f = facts.get(orderId);
    if (!f) facts.set(orderId, (f = { placed: 0, cancelled: 0, ready: 0, confirmed: 0, shipped: 0, charged: 0, refunded: 0, reserved: 0, released: 0, authorised: 0, captured: 0, voided: 0, shipmentCancelled: 0 }));
    f[key]++;
  }
  return facts;
}

function result(name: string, offenders: string[], checked: string): InvariantResult {
  const shown = offenders.slice(0, 5).join('; ');
  return { name, ok: offenders.length === 0, detail: offenders.length === 0 ? checked : `${offenders.length} offender(s): ${shown}` };
}

/** Read models to compare with a rebuild from the log of the store that holds them. */
export type ReadModelPlaces = ReadonlyArray<{ store: EventStore; projections: ReadonlyArray<{ projection: Projection; inline: boolean }> }>;

/**
 * Checks every invariant of the shop against the whole log; call it once the flows have settled.
 * The read models are those of `store` unless `readModels` says where they live (across
 * processes, each service keeps its own beside its log).
 */
export async function checkInvariants(store: EventStore, readModels?: ReadModelPlaces): Promise<InvariantResult[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readAll({ categories: SHOP_CATEGORIES })) events.push(event);
  const workflowEvents: RecordedEvent[] = [];
  for await (const event of store.readAll({ categories: ['workflow'] })) workflowEvents.push(event);
  const facts = factsByOrder(events);
  const orders = [...facts].filter(([, f]) => f.placed > 0);
  const out: InvariantResult[] = [];

  out.push(
    result(
      'every order ended confirmed-and-shipped or cancelled',
      orders
        .filter(([, f]) => !(f.placed === 1 && f.shipmentCancelled <= f.shipped && ((f.confirmed === 1 && shippedNet(f) === 1 && f.cancelled === 0) || (f.cancelled === 1 && shippedNet(f) === 0 && f.confirmed === 0))))
        .map(([id, f]) => `${id} ${JSON.stringify(f)}`),
      `${orders.length} orders`,
    ),
  );

  // Stock is folded from the inventory streams event by event, in each stream's order.
  const negative: string[] = [];
  const stock = new Map<string, number>();
  let movements = 0;
  for (const event of events) {
    if (!event.streamId.startsWith('inventory-')) continue;
    const data = event.data as { sku?: string; quantity?: number; lines?: Line[] };
    const moves: Array<[string, number]> =
      event.type === 'StockRestocked' ? [[data.sku!, data.quantity!]]
      : event.type === 'InventoryReserved' ? data.lines!.map((l) => [l.sku, -l.quantity])
      : event.type === 'StockReleased' ? data.lines!.map((l) => [l.sku, l.quantity])
      : [];
    for (const [sku, delta] of moves) {
      const key = `${event.streamId}/${sku}`;
      const level = (stock.get(key) ?? 0) + delta;
      stock.set(key, level);
      movements++;
      if (level < 0) negative.push(`${key} at ${event.streamId} v${event.streamVersion}: ${level}`);
    }
  }
  out.push(result('no stock level ever went negative', negative, `${movements} stock movements`));

  const cancelledPaid = orders.filter(([, f]) => f.cancelled === 1 && taken(f) === 1).length;
  out.push(
    result(
      'every cancelled paid order was refunded exactly once, and no other order was',
      orders.filter(([, f]) => taken(f) > 1 || f.refunded !== (f.cancelled === 1 && taken(f) === 1 ? 1 : 0)).map(([id, f]) => `${id} charged ${taken(f)}, refunded ${f.refunded}, cancelled ${f.cancelled}`),
      `${cancelledPaid} refunds`,
    ),
  );

  // A compensated saga released its stock: a cancelled order keeps no reservation, however far its checkout went.
  out.push(
    result(
      'every reservation was shipped or released, never both',
      orders.filter(([, f]) => f.reserved > 1 || f.released !== (f.reserved === 1 && f.cancelled === 1 ? 1 : 0) || shippedNet(f) > f.reserved - f.released).map(([id, f]) => `${id} ${JSON.stringify(f)}`),
      `${orders.filter(([, f]) => f.reserved === 1).length} reservations`,
    ),
  );

  out.push(
    result(
      'no money kept without a shipment (no capture without shipment)',
      orders.filter(([, f]) => taken(f) - f.refunded > 0 && !(shippedNet(f) === 1 && f.confirmed === 1)).map(([id, f]) => `${id} ${JSON.stringify(f)}`),
      `${orders.filter(([, f]) => taken(f) - f.refunded > 0).length} orders paid for`,
    ),
  );

  const authorised = orders.filter(([, f]) => f.authorised > 0);
  out.push(
    result(
      'every authorisation was captured or voided, never both',
      authorised.filter(([, f]) => f.authorised !== 1 || f.captured + f.voided !== 1).map(([id, f]) => `${id} authorised ${f.authorised}, captured ${f.captured}, voided ${f.voided}`),
      `${authorised.length} authorisations`,
    ),
  );

  const logs = sagaLogs(workflowEvents);
  const sagaOffenders = logs.size === 0 ? [] : orders.filter(([id]) => !logs.has(id)).map(([id]) => `order ${id} has no saga`);
  for (const [id, log] of logs) {
    const offence = sagaOffence(log, facts.get(id));
    if (offence) sagaOffenders.push(`${id}: ${offence}`);
  }
  out.push(
    result(
      'every checkout saga ended as its order did, undoing in reverse order the steps it completed or left in doubt',
      sagaOffenders,
      logs.size === 0 ? 'no sagas: choreography' : `${logs.size} sagas`,
    ),
  );

  // Each step's event points at what caused it, in the same flow: an event, or a command a saga
  // sent (its id in the saga's log). A saga log's events belong to the flow of its order.
  const byId = new Map([...events, ...workflowEvents].map((e) => [e.id, e]));
  const commands = new Map<string, string>();
  for (const [id, log] of logs) for (const e of log) if (e.type === WORKFLOW_LOG_TYPES.commandIssued) commands.set((e.data as { commandId: string }).commandId, id);
  const flowOf = (e: RecordedEvent): string | undefined => (e.streamId.startsWith('workflow-') ? e.streamId.replace(/^workflow-[^-]+-/, '') : e.metadata.correlationId);
  const reactions = events.filter((e) => !['OrderPlaced', 'StockRestocked'].includes(e.type) && !(e.type === 'OrderCancelled' && (e.data as { reason: string }).reason === 'customer'));
  out.push(
    result(
      'every reaction names its cause, in the same correlation',
      reactions
        .filter((e) => {
          const causationId = e.metadata.causationId ?? '';
          const cause = byId.get(causationId);
          const flow = cause ? flowOf(cause) : commands.get(causationId);
          return flow === undefined || flow !== e.metadata.correlationId || e.metadata.correlationId !== (e.data as { orderId: string }).orderId;
        })
        .map((e) => `${e.type} ${e.id}`),
      `${reactions.length} caused events`,
    ),
  );

  const places = readModels ?? [{ store, projections: [...ASYNC_PROJECTIONS.map((projection) => ({ projection, inline: false })), ...INLINE_PROJECTIONS.map((projection) => ({ projection, inline: true }))] }];
  const differences = [];
  for (const place of places) differences.push(...(await compareWithRebuild(place.store, place.projections)));
  out.push(
    result(
      'the read models equal a rebuild from the log',
      differences.filter((d) => d.onlyLive + d.onlyRebuilt > 0).map((d) => `${d.table}: ${d.onlyLive} rows only live, ${d.onlyRebuilt} only rebuilt`),
      differences.map((d) => d.table).join(', '),
    ),
  );
  return out;
}
