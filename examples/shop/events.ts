/**
 * The facts of the shop, named in the past tense, by the service whose streams hold them:
 * `order-<id>` (Orders), `payment-<orderId>` (Payments), `inventory-<warehouse>` (Inventory),
 * `shipment-<orderId>` (Shipping). Services never call each other; they react to these.
 * Money is in cents. Every event of one order's flow carries the order id as its correlation id.
 * The authorisation, capture and shipment-cancellation events are the orchestrated checkout's
 * (checkout/checkout-saga.ts): the choreography charges at once and never cancels a shipment.
 */
import type { NewEvent, RecordedEvent } from '../../src/index.js';

export type Warehouse = 'east' | 'west';

/** One product line of an order. */
export interface Line {
  sku: string;
  quantity: number;
  /** Unit price in cents, fixed when the order was placed. */
  priceCents: number;
}

/** Why an order was cancelled: by its customer, or as the compensation of a failed step. */
export type CancelReason = 'customer' | 'payment-failed' | 'out-of-stock' | 'payment-timeout' | 'capture-failed';

// Orders -------------------------------------------------------------------------------------
export type OrderPlaced = NewEvent<'OrderPlaced', { orderId: string; customer: string; warehouse: Warehouse; lines: Line[]; totalCents: number; card: string }>;
export type OrderCancelled = NewEvent<'OrderCancelled', { orderId: string; customer: string; warehouse: Warehouse; reason: CancelReason }>;
/** The order's point of no return: from here it ships and can no longer be cancelled. */
export type OrderReadyToShip = NewEvent<'OrderReadyToShip', { orderId: string; warehouse: Warehouse; lines: Line[] }>;
export type OrderConfirmed = NewEvent<'OrderConfirmed', { orderId: string; customer: string; trackingNumber: string }>;
export type OrderEvent = OrderPlaced | OrderCancelled | OrderReadyToShip | OrderConfirmed;

// Payments -----------------------------------------------------------------------------------
/** Carries the order's warehouse and lines on to Inventory (event-carried state transfer). */
export type PaymentSucceeded = NewEvent<'PaymentSucceeded', { orderId: string; amountCents: number; warehouse: Warehouse; lines: Line[] }>;
export type PaymentFailed = NewEvent<'PaymentFailed', { orderId: string; amountCents: number; reason: string }>;
export type PaymentRefunded = NewEvent<'PaymentRefunded', { orderId: string; amountCents: number; reason: string }>;
/** The card's issuer holds the amount for this order; nothing is charged until the capture. */
export type PaymentAuthorised = NewEvent<'PaymentAuthorised', { orderId: string; amountCents: number }>;
/** The hold was let go (the compensation of the authorisation). */
export type AuthorisationVoided = NewEvent<'AuthorisationVoided', { orderId: string; amountCents: number; reason: string }>;
/** The authorised amount was taken: the money side of the order is done. */
export type PaymentCaptured = NewEvent<'PaymentCaptured', { orderId: string; amountCents: number }>;
export type CaptureFailed = NewEvent<'CaptureFailed', { orderId: string; amountCents: number; reason: string }>;
export type PaymentEvent = PaymentSucceeded | PaymentFailed | PaymentRefunded | PaymentAuthorised | AuthorisationVoided | PaymentCaptured | CaptureFailed;

// Inventory ----------------------------------------------------------------------------------
export type StockRestocked = NewEvent<'StockRestocked', { warehouse: Warehouse; sku: string; quantity: number }>;
export type InventoryReserved = NewEvent<'InventoryReserved', { orderId: string; warehouse: Warehouse; lines: Line[] }>;
export type InsufficientStock = NewEvent<'InsufficientStock', { orderId: string; warehouse: Warehouse; missing: Array<{ sku: string; wanted: number; available: number }> }>;
/** A cancelled order's reservation went back on the shelf. */
export type StockReleased = NewEvent<'StockReleased', { orderId: string; warehouse: Warehouse; lines: Line[] }>;
/** The order was cancelled before anything was reserved: a later payment reserves nothing. */
export type ReservationVoided = NewEvent<'ReservationVoided', { orderId: string; warehouse: Warehouse }>;
export type InventoryEvent = StockRestocked | InventoryReserved | InsufficientStock | StockReleased | ReservationVoided;

// Shipping -----------------------------------------------------------------------------------
export type OrderShipped = NewEvent<'OrderShipped', { orderId: string; warehouse: Warehouse; trackingNumber: string }>;
/** The parcel was called back before delivery (the compensation of the shipment). */
export type ShipmentCancelled = NewEvent<'ShipmentCancelled', { orderId: string; warehouse: Warehouse; trackingNumber: string }>;
export type ShipmentEvent = OrderShipped | ShipmentCancelled;

export type ShopEvent = OrderEvent | PaymentEvent | InventoryEvent | ShipmentEvent;
export type ShopEventType = ShopEvent['type'];

/** A recorded shop event, narrowed by its type. */
export type Recorded<E extends ShopEvent = ShopEvent> = RecordedEvent<E['type'], E['data']>;

export const orderStream = (orderId: string): string => `order-${orderId}`;
export const paymentStream = (orderId: string): string => `payment-${orderId}`;
export const inventoryStream = (warehouse: Warehouse): string => `inventory-${warehouse}`;
export const shipmentStream = (orderId: string): string => `shipment-${orderId}`;

/** The total of an order's lines, in cents. */
export const totalOf = (lines: readonly Line[]): number => lines.reduce((sum, l) => sum + l.quantity * l.priceCents, 0);

/** The category (the stream id's prefix) of each type's streams: across processes, the topic its events travel on. */
export const CATEGORY_OF: Readonly<Record<ShopEventType, 'order' | 'payment' | 'inventory' | 'shipment'>> = {
  OrderPlaced: 'order',
  OrderCancelled: 'order',
  OrderReadyToShip: 'order',
  OrderConfirmed: 'order',
  PaymentSucceeded: 'payment',
  PaymentFailed: 'payment',
  PaymentRefunded: 'payment',
  PaymentAuthorised: 'payment',
  AuthorisationVoided: 'payment',
  PaymentCaptured: 'payment',
  CaptureFailed: 'payment',
  StockRestocked: 'inventory',
  InventoryReserved: 'inventory',
  InsufficientStock: 'inventory',
  StockReleased: 'inventory',
  ReservationVoided: 'inventory',
  OrderShipped: 'shipment',
  ShipmentCancelled: 'shipment',
};
