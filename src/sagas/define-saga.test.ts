// A step that timed out is in doubt: its command may still be carried out after the saga gave up
// on it, so undoing the saga undoes that step too. A step that answered "failed" did nothing and is
// not undone.
import { describe, it } from 'vitest';
import { cancel, complete, send } from './workflow.js';
import { defineSaga } from './define-saga.js';
import { timerFired, WorkflowSpecification } from '../testing/workflow-specification.js';

type Start = { type: 'OrderPlaced'; data: { orderId: string } };
type Reply = { type: 'StockReserved' | 'StockReleased' | 'PaymentAuthorised' | 'PaymentRefused' | 'AuthorisationVoided'; data: { orderId: string } };
type Command = { type: 'ReserveStock' | 'ReleaseStock' | 'AuthorisePayment' | 'VoidAuthorisation'; data: { orderId: string } };

const checkout = defineSaga<Start, Reply, Command>({
  name: 'checkout',
  start: 'OrderPlaced',
  id: (event) => event.data.orderId,
  steps: [
    {
      name: 'reserve',
      command: ({ start }) => ({ type: 'ReserveStock', data: start }),
      completedOn: 'StockReserved',
      compensation: { command: ({ start }) => ({ type: 'ReleaseStock', data: start }), completedOn: 'StockReleased' },
    },
    {
      name: 'authorise',
      command: ({ start }) => ({ type: 'AuthorisePayment', data: start }),
      completedOn: 'PaymentAuthorised',
      failedOn: 'PaymentRefused',
      timeoutMs: 1000,
      retry: { immediateRetries: 1, backoffRetries: 0 },
      // Voiding an authorisation that was never made is a no-op for the payment service.
      compensation: { command: ({ start }) => ({ type: 'VoidAuthorisation', data: start }) },
    },
  ],
});

const spec = WorkflowSpecification.for(checkout);
const order = { orderId: '7' };
const placed = { type: 'OrderPlaced', data: order } as const;
const reserved = { type: 'StockReserved', data: order } as const;
const refused = { type: 'PaymentRefused', data: order } as const;
const released = { type: 'StockReleased', data: order } as const;
const voidIt = send<Command>({ type: 'VoidAuthorisation', data: order }, { key: 'authorise/compensate/1' });
const release = send<Command>({ type: 'ReleaseStock', data: order }, { key: 'reserve/compensate/1' });

describe('defineSaga: steps in doubt', () => {
  it('undoes a step whose attempt timed out, though its last attempt answered "failed"', () => {
    // Attempt 1 timed out (attempt 2 was sent at once), then attempt 2 was refused: attempt 1 may still authorise.
    spec.given([placed, reserved, timerFired('timeout')]).when(refused).then([cancel('timeout'), voidIt, release]);
  });

  it('does not undo a step whose attempts all answered "failed"', () => {
    spec.given([placed, reserved, refused]).when(refused).then([cancel('timeout'), release]);
  });

  it('ignores the late reply of the timed-out step: its compensation was already sent', () => {
    const history = [placed, reserved, timerFired('timeout'), timerFired('timeout')];
    spec.given(history).when({ type: 'PaymentAuthorised', data: order }).thenNothing();
    spec.given([...history, { type: 'PaymentAuthorised', data: order } as const]).when(released).then([complete({ outcome: 'compensated', failure: { step: 'authorise', reason: 'timeout' } })]);
  });
});
