// Opening a PostgreSQL store that cannot be reached: every way it fails is CONNECTION_FAILED,
// with the driver's error as cause and a message naming where, never the password.
import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isInfrastructureError } from '../../core/errors.js';
import { openEventStore } from '../open-event-store.js';
import { openPostgresEventStore } from './postgres-event-store.js';
import { caught } from '../../../test/caught.js';
import { POSTGRES_URL, postgresUnavailable, serviceUnavailable } from '../../../test/services.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../../test/stores.js';

const skip = await postgresUnavailable();
const redisSkip = await serviceUnavailable('Redis', 6379);
afterAll(() => dropSchemas(createdSchemas));

/** A port nothing listens on: taken from the kernel, then let go. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const open = (connection: string, extra: { connectTimeoutMs?: number } = {}) => {
  const schema = uniqueSchema();
  createdSchemas.push(schema);
  return caught(openPostgresEventStore({ connection, schema, ...extra }));
};

describe.skipIf(Boolean(skip))(`opening PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a refused port is CONNECTION_FAILED naming host and port, with the cause', async () => {
    const port = await closedPort();
    const error = await open(`postgres://postgres:hunter2@127.0.0.1:${port}/test`);
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(isInfrastructureError(error)).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('database "test"');
    expect(error.message).toContain('refused');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.message + JSON.stringify(error.details)).not.toContain('hunter2');
  });

  it('with migrate: false the open still connects, and fails there', async () => {
    const port = await closedPort();
    const error = await caught(openPostgresEventStore({ connection: `postgres://postgres@127.0.0.1:${port}/test`, migrate: false }));
    expect(error.code).toBe('CONNECTION_FAILED');
  });

  it('an unknown host is CONNECTION_FAILED', async () => {
    const error = await open('postgres://postgres@no-such-host.invalid:5432/test');
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain('no-such-host.invalid:5432');
    expect(error.message).toContain('unknown host');
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((error.cause as { code?: string }).code);
  });

  it('a missing database is CONNECTION_FAILED, not MIGRATION_FAILED', async () => {
    const url = new URL(POSTGRES_URL);
    url.pathname = '/factum_no_such_database';
    const error = await open(url.href);
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain('database "factum_no_such_database"');
    expect(error.details.code).toBe('3D000');
  });

  it('credentials the server refuses are CONNECTION_FAILED, and the password never shows', async () => {
    // This server trusts local connections, so it refuses an unknown role (SQLSTATE 28000);
    // a wrong password is 28P01, of the same class 28.
    const url = new URL(POSTGRES_URL);
    url.username = 'factum_no_such_role';
    url.password = 's3cret-pw';
    const error = await open(url.href);
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain('user "factum_no_such_role"');
    expect(String(error.details.code)).toMatch(/^28/);
    expect(error.message + JSON.stringify(error.details)).not.toContain('s3cret-pw');
  });

  it('a pg.Pool of yours that cannot connect is CONNECTION_FAILED naming its target', async () => {
    const port = await closedPort();
    const pool = new pg.Pool({ host: '127.0.0.1', port, database: 'mine', user: 'me' });
    const error = await caught(openPostgresEventStore({ connection: pool, schema: uniqueSchema() }));
    await pool.end();
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain(`127.0.0.1:${port} (database "mine", user "me")`);
  });

  it('a statement that fails on a live connection stays MIGRATION_FAILED', async () => {
    // PostgreSQL reserves schema names starting with pg_: CREATE SCHEMA fails on a healthy connection.
    const error = await caught(openPostgresEventStore({ connection: POSTGRES_URL, schema: 'pg_factum_reserved' }));
    expect(error.code).toBe('MIGRATION_FAILED');
    expect((error.cause as { code?: string }).code).toBe('42939');
  });

  it('a connection killed while the migrations wait is CONNECTION_FAILED, not MIGRATION_FAILED', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const first = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 1 });
    // Hold the schema's migration lock, so the second open's migration waits on it, then kill that backend.
    const [k1, k2] = first.names.migrationLock;
    const holder = new pg.Client({ connectionString: POSTGRES_URL });
    // Another session: pg_stat_activity stays as it was for the whole of the holder's transaction.
    const killer = new pg.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    await killer.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
      const opening = caught(openPostgresEventStore({ connection: POSTGRES_URL, schema }));
      let killed = 0;
      for (let tries = 0; killed === 0; tries++) {
        if (tries === 1000) throw new Error('the second open never waited on the migration lock');
        const { rows } = await killer.query<{ killed: boolean }>(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_xact_lock(%' AND pid <> pg_backend_pid()`,
        );
        killed = rows.filter((r) => r.killed).length;
        if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const error = await opening;
      expect(error.code).toBe('CONNECTION_FAILED');
      expect((error.cause as { code?: string }).code).toBe('57P01');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await killer.end();
      await first.close();
    }
  });

  it.skipIf(Boolean(redisSkip))(`a port that accepts TCP but never speaks PostgreSQL (Redis) times out with CONNECTION_FAILED${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, async () => {
    const error = await open('postgres://postgres@127.0.0.1:6379/x', { connectTimeoutMs: 300 });
    expect(error.code).toBe('CONNECTION_FAILED');
    expect(error.message).toContain('127.0.0.1:6379');
    expect(error.message).toContain('within 300 ms');
    // openEventStore takes the option too.
    const viaUrl = await caught(openEventStore('postgres://postgres@127.0.0.1:6379/x', { connectTimeoutMs: 200 }));
    expect(viaUrl.code).toBe('CONNECTION_FAILED');
    expect(viaUrl.message).toContain('within 200 ms');
  });

  it('refuses a connect timeout that is not a positive integer', async () => {
    expect((await open(POSTGRES_URL, { connectTimeoutMs: 0 })).code).toBe('INVALID_ARGUMENT');
  });
});
