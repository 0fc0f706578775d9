// The workflow test kit on a saga: the compensations of the completed steps, in reverse order, are its outputs.
import { describe, expect, it } from 'vitest';
import { tripSaga } from '../../test/runner-suites/trip-saga.js';
import { WorkflowSpecification } from './workflow-specification.js';

const spec = WorkflowSpecification.for(tripSaga());
const trip = { tripId: 't1' };
const requested = { type: 'TripRequested', data: trip } as const;
const reply = <T extends string>(type: T) => ({ type, data: { tripId: 't1' } }) as const;
const commandTypes = (outputs: readonly { kind: string; command?: { type: string } }[]) =>
  outputs.filter((o) => o.kind === 'command').map((o) => o.command?.type);

describe('WorkflowSpecification on a saga', () => {
  it('sends the first step on the start event', () => {
    spec.given([]).when(requested).then((outputs) => expect(commandTypes(outputs)).toEqual(['ReserveSeat']));
  });

  it('shows the compensations of the completed steps in reverse order when a step fails', () => {
    spec.given([requested, reply('SeatReserved'), reply('CardCharged')]).when(reply('HotelRefused')).then((outputs) => {
      expect(commandTypes(outputs)).toEqual(['RefundCard']);
    });
    spec.given([requested, reply('SeatReserved'), reply('CardCharged'), reply('HotelRefused')]).when(reply('CardRefunded')).then((outputs) => {
      expect(commandTypes(outputs)).toEqual(['CancelSeat']);
    });
  });
});
