// The checkout saga as a given/when/then spec: what it sends, and what it undoes, for each answer.
import { describe, expect, it } from 'vitest';
import { WorkflowSpecification, timerFired } from '../../../src/testing.js';
import type { OrderPlaced } from '../events.js';
import { checkoutSaga } from './checkout-saga.js';

const saga = checkoutSaga({ authorisationTimeoutMs: 2000 });
const spec = WorkflowSpecification.for(saga);
const lines = [{ sku: 'mug', quantity: 1, priceCents: 890 }];
const placed: OrderPlaced = { type: 'OrderPlaced', data: { orderId: 'o1', customer: 'ada', warehouse: 'east', lines, totalCents: 890, card: '4242424242424242' } };
const reserved = { type: 'InventoryReserved', data: { orderId: 'o1', warehouse: 'east', lines } } as const;
const authorised = { type: 'PaymentAuthorised', data: { orderId: 'o1', amountCents: 890 } } as const;
const shipped = { type: 'OrderShipped', data: { orderId: 'o1', warehouse: 'east', trackingNumber: 'TRK1' } } as const;
const commands = (outputs: readonly { kind: string; command?: { type: string } }[]) => outputs.filter((o) => o.kind === 'command').map((o) => o.command?.type);
const kinds = (outputs: readonly { kind: string }[]) => outputs.map((o) => o.kind);

describe('checkout saga', () => {
  it('declares capture last: the one step without a compensation', () => {
    expect(saga.steps.map((s) => [s.name, s.compensation !== undefined])).toEqual([['reserve', true], ['authorise', true], ['ship', true], ['capture', false]]);
  });

  it('reserves on the order, then authorises under a durable timeout', () => {
    spec.given([]).when(placed).then((outputs) => expect(commands(outputs)).toEqual(['ReserveStock']));
    spec.given([placed]).when(reserved).then((outputs) => {
      expect(commands(outputs)).toEqual(['AuthorisePayment']);
      expect(outputs).toContainEqual({ kind: 'schedule', timer: 'timeout', afterMs: 2000 });
    });
  });

  it('voids the authorisation that went unanswered past its timeout (it may yet come), then releases the stock', () => {
    spec.given([placed, reserved]).when(timerFired('timeout')).then((outputs) => expect(commands(outputs)).toEqual(['VoidAuthorisation']));
    const voided = { type: 'AuthorisationVoided', data: { orderId: 'o1', amountCents: 0, reason: 'checkout compensated' } } as const;
    spec.given([placed, reserved, timerFired('timeout')]).when(voided).then((outputs) => expect(commands(outputs)).toEqual(['ReleaseStock']));
  });

  it('undoes the shipment, then the authorisation, then the reservation when the capture fails', () => {
    const given = [placed, reserved, authorised, shipped] as const;
    const failed = { type: 'CaptureFailed', data: { orderId: 'o1', amountCents: 890, reason: 'capture declined by the issuer' } } as const;
    spec.given([...given]).when(failed).then((outputs) => expect(commands(outputs)).toEqual(['CancelShipment']));
    const cancelled = { type: 'ShipmentCancelled', data: { orderId: 'o1', warehouse: 'east', trackingNumber: 'TRK1' } } as const;
    spec.given([...given, failed]).when(cancelled).then((outputs) => expect(commands(outputs)).toEqual(['VoidAuthorisation']));
    const voided = { type: 'AuthorisationVoided', data: { orderId: 'o1', amountCents: 890, reason: 'checkout compensated' } } as const;
    spec.given([...given, failed, cancelled]).when(voided).then((outputs) => expect(commands(outputs)).toEqual(['ReleaseStock']));
    const released = { type: 'StockReleased', data: { orderId: 'o1', warehouse: 'east', lines } } as const;
    spec.given([...given, failed, cancelled, voided]).when(released).then((outputs) => expect(kinds(outputs)).toEqual(['complete']));
  });

  it('completes when the capture succeeds', () => {
    spec.given([placed, reserved, authorised, shipped]).when({ type: 'PaymentCaptured', data: { orderId: 'o1', amountCents: 890 } }).then((outputs) => {
      expect(outputs).toContainEqual({ kind: 'complete', result: { outcome: 'completed' } });
    });
  });
});
