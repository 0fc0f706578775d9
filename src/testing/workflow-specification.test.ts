// The workflow test kit: passes on the right outputs and state, fails with both lists shown.
import { describe, expect, it } from 'vitest';
import { cancel, complete, publish, schedule, send } from '../sagas/workflow.js';
import { orderWorkflow } from '../../test/runner-suites/order-workflow.js';
import { timerFired, WorkflowSpecification } from './workflow-specification.js';
import { SpecificationError } from './decider-specification.js';

const spec = WorkflowSpecification.for(orderWorkflow);
const placed = { type: 'OrderPlaced', data: { orderId: '1', payWithinMs: 1000 } } as const;
const reserved = { type: 'StockReserved', data: { orderId: '1' } } as const;

describe('WorkflowSpecification', () => {
  it('passes when decide answers with the expected outputs and the state is the fold', () => {
    spec.given([]).when(placed).then([send({ type: 'ReserveStock', data: { orderId: '1' } }), schedule('payment', { afterMs: 1000 })]);
    spec.given([placed]).when(reserved).thenNothing();
    spec.given([placed, reserved]).when({ type: 'PaymentReceived', data: { orderId: '1' } }).then([cancel('payment'), publish('receipt-1', { type: 'ReceiptIssued', data: { orderId: '1' } }), complete('paid')]);
    spec.given([placed]).when(timerFired('payment', { latenessMs: 250 })).then([complete('expired')]);
    spec.given([placed]).when(reserved).thenState({ orderId: '1', reserved: true, paid: false });
  });

  it('fails with both lists when the outputs differ, and when it expected an error that did not come', () => {
    const wrong = () => spec.given([placed]).when(reserved).then([complete('paid')]);
    expect(wrong).toThrow(SpecificationError);
    expect(wrong).toThrow(/expected outputs:\n {4}1\. \{"kind":"complete","result":"paid"\}\n {2}actual outputs: \(none\)/);
    expect(() => spec.given([placed]).when(reserved).thenState({ reserved: false, paid: false })).toThrow(/actual state: {3}\{"reserved":true,"paid":false,"orderId":"1"\}/);
    expect(() => spec.given([]).when(placed).thenThrows()).toThrow(/expected an error/);
  });
});
