// Subscriptions on a real PostgreSQL server, plus the wake-up by LISTEN/NOTIFY across processes.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { rawAppend } from '../../test/raw-append.js';
import { Subscription } from './subscription.js';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { subscriptionSuite } from '../../test/runner-suites/subscription-suite.js';
import { ev, eventually } from '../../test/runner-suites/helpers.js';
import { createdSchemas, dropSchemas, storeFactories, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL } from '../../test/services.js';

const factories = (await storeFactories()).filter((f) => f.name === 'postgres');
subscriptionSuite(factories);
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(factories[0]?.skip))('subscriptions: postgres wake-up and open transactions', () => {
  it('is woken by a commit made through another connection pool (NOTIFY), not by polling', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const reader = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 3 });
    const writer = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 2 });
    const seen: string[] = [];
    // Polling once an hour: only the notification can deliver the event within the wait.
    const sub = new Subscription(reader, { name: 'woken', pollIntervalMs: 3_600_000, handler: (e) => void seen.push(e.type) });
    await sub.start();
    try {
      const { lastPosition } = await writer.append('elsewhere-1', [ev('ArrivedFromAnotherProcess')]);
      await sub.waitFor(lastPosition, { timeoutMs: 20_000 });
      expect(seen).toEqual(['ArrivedFromAnotherProcess']);
    } finally {
      await sub.stop();
      await reader.close();
      await writer.close();
    }
  });

  it('gives the LISTEN connection back without its listeners: twelve start/stop cycles leave none behind', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    // Two pooled connections: every cycle's LISTEN lands on one of them, as in the report.
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const store = await openPostgresEventStore({ connection: pool, schema });
    try {
      for (let i = 0; i < 12; i++) {
        const sub = new Subscription(store, { name: 'cycled', handler: () => {} });
        await sub.start();
        await sub.stop();
      }
      const connections = [await pool.connect(), await pool.connect()];
      const fresh = new pg.Client({ connectionString: POSTGRES_URL });
      try {
        const counts = connections.map((c) => [c.listenerCount('notification'), c.listenerCount('error')]);
        expect(counts).toEqual(connections.map(() => [fresh.listenerCount('notification'), fresh.listenerCount('error')]));
      } finally {
        for (const c of connections) c.release();
      }
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it('a burst of appends sends at most one NOTIFY per 5 ms, and the last append is always followed by one', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const writer = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const listener = new pg.Client({ connectionString: POSTGRES_URL });
    await listener.connect();
    const received: number[] = [];
    listener.on('notification', () => received.push(performance.now()));
    await listener.query(`LISTEN "${writer.names.appendChannel}"`);
    try {
      for (let burst = 0; burst < 3; burst++) {
        received.length = 0;
        const started = performance.now();
        let lastStarted = 0;
        for (let i = 0; i < 150; i++) {
          lastStarted = performance.now();
          await writer.append(`burst-${burst}-${i % 7}`, [ev('Burst')]);
        }
        // Three concurrent appends end the burst, so the last one may be a carrier or not.
        lastStarted = performance.now();
        await Promise.all([0, 1, 2].map((w) => writer.append(`burst-end-${w}`, [ev('Burst')])));
        await eventually(() => received.some((t) => t > lastStarted), 5_000, 'a NOTIFY after the last append');
        // At most one per 5 ms while appends go on, plus one when they stop.
        expect(received.length).toBeLessThanOrEqual(Math.ceil((lastStarted - started) / 5) + 2);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    } finally {
      await listener.end();
      await writer.close();
    }
  });

  it('waits behind an open append transaction, shows it as lag, and never skips its event', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 4 });
    const seen: string[] = [];
    const sub = new Subscription(store, { name: 'patient', handler: (e) => void seen.push(e.streamId) });
    await sub.start();
    const held = new pg.Client({ connectionString: POSTGRES_URL });
    await held.connect();
    try {
      // A writer draws a position and holds its transaction open...
      await held.query('BEGIN');
      await rawAppend(held, store, 'slow-1', 'Held');
      // ...while a later append commits at a higher position.
      const { lastPosition } = await store.append('fast-1', [ev('Quick')]);
      await eventually(() => sub.status().waitingOn !== undefined, 20_000, 'the subscription to report the open transaction');
      const status = sub.status();
      expect(seen).toEqual([]);
      expect(status.lagEvents).toBeGreaterThan(0n);
      expect(status.waitingOn!.position).toBe(lastPosition - 1n);
      await held.query('COMMIT');
      await sub.waitFor(lastPosition, { timeoutMs: 20_000 });
      expect(seen).toEqual(['slow-1', 'fast-1']);
      expect(sub.status().waitingOn).toBeUndefined();
    } finally {
      await held.end();
      await sub.stop();
      await store.close();
    }
  });

  it('listens again after its LISTEN connection is killed', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const reader = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 3 });
    const writer = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 2 });
    const seen: string[] = [];
    const sub = new Subscription(reader, { name: 'relistening', pollIntervalMs: 3_600_000, handler: (e) => void seen.push(e.type) });
    await sub.start();
    try {
      const killed = await writer.client.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query LIKE 'LISTEN "factum_appended_${schema}"%'`,
      );
      expect(killed.rows.map((r) => r.ok)).toEqual([true]);
      // The listener reconnects after a second; then a commit elsewhere must wake the subscription.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const { lastPosition } = await writer.append('elsewhere-2', [ev('AfterTheReconnect')]);
      await sub.waitFor(lastPosition, { timeoutMs: 20_000 });
      expect(seen).toEqual(['AfterTheReconnect']);
    } finally {
      await sub.stop();
      await reader.close();
      await writer.close();
    }
  });
});
