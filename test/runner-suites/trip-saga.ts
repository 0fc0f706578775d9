/**
 * The saga of the saga suites: a trip reserves a seat, charges a card (retried), books a hotel
 * (under a timeout) and sends a confirmation. Its services follow the script the request
 * carries, per step and attempt, and apply each effect once per command id.
 */
import type { EventStore } from '../../src/core/event-store.js';
import { defineSaga, type SagaLock } from '../../src/sagas/define-saga.js';
import type { WorkflowCommandHandler, WorkflowCommandHandlers } from '../../src/sagas/workflow-runner.js';

/** What a service does on an attempt: reply done, reply failed, or never answer. */
export type Behaviour = 'ok' | 'fail' | 'silent';
export interface TripData {
  tripId: string;
  /** Per step, per attempt (the last one repeats); `ok` when absent. */
  script?: Record<string, Behaviour[]>;
}
export type TripStart = { type: 'TripRequested'; data: TripData };
type Reply<T extends string> = { type: T; data: { tripId: string } };
export type TripReply =
  | Reply<'SeatReserved' | 'SeatRefused' | 'SeatCancelled'>
  | Reply<'CardCharged' | 'CardDeclined' | 'CardRefunded'>
  | Reply<'HotelBooked' | 'HotelRefused'>
  | Reply<'ConfirmationSent' | 'ConfirmationFailed'>;
type Command<T extends string> = { type: T; data: TripData };
export type TripCommand =
  | Command<'ReserveSeat' | 'CancelSeat'>
  | Command<'ChargeCard' | 'RefundCard'>
  | Command<'BookHotel' | 'CancelHotel'>
  | Command<'SendConfirmation'>;

/** The trip saga; `hotelTimeoutMs` short for the tests that time it out. */
export function tripSaga(options: { hotelTimeoutMs?: number; lock?: SagaLock<TripData> } = {}) {
  return defineSaga<TripStart, TripReply, TripCommand>({
    name: 'trip',
    start: 'TripRequested',
    id: (event) => event.data.tripId,
    ...(options.lock ? { lock: options.lock } : {}),
    steps: [
      {
        name: 'seat',
        command: ({ start }) => ({ type: 'ReserveSeat', data: start }),
        completedOn: 'SeatReserved',
        failedOn: 'SeatRefused',
        compensation: { command: ({ start }) => ({ type: 'CancelSeat', data: start }), completedOn: 'SeatCancelled' },
      },
      {
        name: 'card',
        command: ({ start }) => ({ type: 'ChargeCard', data: start }),
        completedOn: 'CardCharged',
        failedOn: 'CardDeclined',
        retry: { immediateRetries: 1, backoffRetries: 1, initialDelayMs: 30, jitter: 0 },
        compensation: { command: ({ start }) => ({ type: 'RefundCard', data: start }), completedOn: 'CardRefunded' },
      },
      {
        name: 'hotel',
        command: ({ start }) => ({ type: 'BookHotel', data: start }),
        completedOn: 'HotelBooked',
        failedOn: 'HotelRefused',
        timeoutMs: options.hotelTimeoutMs ?? 60_000,
        // No reply to wait for: sent, and the compensations below it follow at once.
        compensation: { command: ({ start }) => ({ type: 'CancelHotel', data: start }) },
      },
      // The last step may fail though it has no compensation: nothing after it needs undoing.
      { name: 'confirm', command: ({ start }) => ({ type: 'SendConfirmation', data: start }), completedOn: 'ConfirmationSent', failedOn: 'ConfirmationFailed' },
    ],
  });
}

/** The attempt a command id names: `<log stream>/<step>/<attempt>` or `.../<step>/compensate/<attempt>`. */
const attemptOf = (commandId: string): number => Number(commandId.slice(commandId.lastIndexOf('/') + 1));

/**
 * The services, in process. Each keeps its effects in the stream `effects-<trip>`, which is also
 * its inbox: a command id found there was handled before and is absorbed (read and written in
 * the dispatch's transaction). `calls` counts every delivery, absorbed or not. Each replies as
 * the script says.
 */
export function tripServices(calls: string[] = []): WorkflowCommandHandlers<TripCommand> {
  const service = (step: string, replies: { ok?: TripReply['type']; fail?: TripReply['type'] }): WorkflowCommandHandler<TripCommand> => async (command, context) => {
    calls.push(context.commandId);
    const tripId = command.data.tripId;
    for await (const seen of context.store.readStream(`effects-${tripId}`)) if ((seen.data as { commandId: string }).commandId === context.commandId) return;
    await context.store.append(`effects-${tripId}`, [{ type: 'EffectApplied', data: { command: command.type, commandId: context.commandId } }]);
    const script = command.data.script?.[step] ?? [];
    const behaviour = script[Math.min(attemptOf(context.commandId), script.length) - 1] ?? 'ok';
    const reply = behaviour === 'ok' ? replies.ok : behaviour === 'fail' ? replies.fail : undefined;
    if (reply) await context.store.append(`${step}-${tripId}`, [{ type: reply, data: { tripId } }]);
  };
  return {
    ReserveSeat: service('seat', { ok: 'SeatReserved', fail: 'SeatRefused' }),
    CancelSeat: service('seat-undo', { ok: 'SeatCancelled' }),
    ChargeCard: service('card', { ok: 'CardCharged', fail: 'CardDeclined' }),
    RefundCard: service('card-undo', { ok: 'CardRefunded' }),
    BookHotel: service('hotel', { ok: 'HotelBooked', fail: 'HotelRefused' }),
    CancelHotel: service('hotel-undo', {}),
    SendConfirmation: service('confirm', { ok: 'ConfirmationSent', fail: 'ConfirmationFailed' }),
  };
}

/** A trip's effects, in order: `<command> <step>/<attempt>` (the command id without its log stream). */
export async function effectsOf(store: EventStore, tripId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const event of store.readStream(`effects-${tripId}`)) {
    const { command, commandId } = event.data as { command: string; commandId: string };
    out.push(`${command} ${commandId.slice(`workflow-trip-${tripId}/`.length)}`);
  }
  return out;
}
