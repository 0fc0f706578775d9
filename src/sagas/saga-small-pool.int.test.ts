// The saga runner on a small pool (real PostgreSQL, 4 connections): the LISTEN holds one, and
// the input, command and timer deliveries each hold one for their transaction. A handler's reads
// through `context.store` must run on that transaction's connection: when they went to the pool,
// every transaction waited for a connection that only the others could free, and the runner
// stalled for good, without an error.
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { WorkflowRunner } from './workflow-runner.js';
import { effectsOf, tripSaga, tripServices } from '../../test/runner-suites/trip-saga.js';
import { eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';

const skip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

const SAGAS = 300;

describe.skipIf(Boolean(skip))(`saga runner on a pool of 4${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it(`completes ${SAGAS} sagas whose services read through context.store`, { timeout: 120_000 }, async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const runner = new WorkflowRunner(store, tripSaga(), { pollIntervalMs: 50, batchSize: 20, handlers: tripServices() });
    try {
      // Every other trip retries its card once (a durable backoff timer), so timers fire among the inputs and commands.
      for (let i = 0; i < SAGAS; i++) await store.append(`trip-${i}`, [{ type: 'TripRequested', data: { tripId: String(i), ...(i % 2 ? { script: { card: ['fail', 'fail', 'ok'] } } : {}) } }]);
      await runner.start();
      await eventually(async () => (await runner.queries.instances({ status: 'completed' })).length === SAGAS, 90_000, `${SAGAS} completed sagas`);
      // Each service read its inbox (the effects stream) inside its transaction and applied its effect once.
      expect(await effectsOf(store, '0')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
      expect(await effectsOf(store, '1')).toEqual(['ReserveSeat seat/1', 'ChargeCard card/1', 'ChargeCard card/2', 'ChargeCard card/3', 'BookHotel hotel/1', 'SendConfirmation confirm/1']);
    } finally {
      await runner.stop();
      await store.close();
    }
  });
});
