// The standalone dashboard (as `factum dashboard --db ...` starts it: no runners of its own) retries
// and skips dead letters through the database: the subscription's owner, on another store object
// (PostgreSQL: other connections, as another process would have), carries them out.
import { afterAll, describe, expect, it } from 'vitest';
import { Subscription } from '../consumers/subscription.js';
import { openPostgresEventStore } from '../store/postgres/postgres-event-store.js';
import { createdSchemas, dropSchemas, uniqueSchema } from '../../test/stores.js';
import { POSTGRES_URL, postgresUnavailable } from '../../test/services.js';
import { eventually } from '../../test/runner-suites/helpers.js';
import { startDashboard } from './start-dashboard.js';
import type { DashboardActionResult } from './dashboard-api.js';

const pgSkip = await postgresUnavailable();
afterAll(() => dropSchemas(createdSchemas));

describe.skipIf(Boolean(pgSkip))(`standalone dashboard: retry and skip by the runner's owner${pgSkip ? ` (skipped: ${pgSkip})` : ''}`, () => {
  it('enables the buttons of every dead letter, retries one and skips another through the owner, and shows what the owner reported', async () => {
    const schema = uniqueSchema();
    createdSchemas.push(schema);
    const ownerStore = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 3 });
    const dashboardStore = await openPostgresEventStore({ connection: POSTGRES_URL, schema, maxConnections: 2 });
    const broken = new Set(['m-1', 'm-2', 'm-3']);
    const handled: string[] = [];
    const sub = new Subscription(ownerStore, {
      name: 'mailer',
      pollIntervalMs: 100,
      retry: { immediateRetries: 0, backoffRetries: 0 },
      handler: (event) => {
        if (broken.has(event.streamId)) throw new Error(`${event.streamId}: 550 no such user`);
        handled.push(`${event.streamId}@${event.streamVersion}`);
      },
    });
    await sub.start();
    const dashboard = await startDashboard({ store: dashboardStore, sampleIntervalMs: 60_000 });
    const api = async (path: string, method = 'GET') => {
      const response = await fetch(`${dashboard.url.replace(/\?token=.*$/, '')}api/${path}`, { method, headers: { 'x-factum-token': dashboard.token } });
      return { status: response.status, body: (await response.json()) as any };
    };
    try {
      for (const s of ['m-1', 'm-2', 'm-3']) await ownerStore.append(s, [{ type: 'MailQueued', data: {} }, { type: 'MailQueued', data: {} }]);
      await eventually(async () => (await sub.deadLetters({ status: 'dead' })).length === 3, 20_000, 'three dead letters');

      const listed = (await api('dead-letters')).body as Array<{ id: string; streamId: string; status: string; actionable: boolean; actionVia?: string }>;
      expect(listed.map((l) => [l.streamId, l.status, l.actionable, l.actionVia ?? null])).toEqual([
        ['m-1', 'dead', true, 'owner'],
        ['m-1', 'parked', false, null],
        ['m-2', 'dead', true, 'owner'],
        ['m-2', 'parked', false, null],
        ['m-3', 'dead', true, 'owner'],
        ['m-3', 'parked', false, null],
      ]);
      const id = (streamId: string) => listed.find((l) => l.streamId === streamId && l.status === 'dead')!.id;

      broken.delete('m-1');
      const retried = await api(`dead-letters/${id('m-1')}/retry`, 'POST');
      expect(retried.status).toBe(200);
      expect(retried.body as DashboardActionResult).toMatchObject({ action: 'retry', via: 'owner', outcome: 'succeeded', handled: 2, remaining: 0 });
      expect(retried.body.claimedBy).toMatch(new RegExp(`:${process.pid}$`));
      expect(handled).toEqual(['m-1@1', 'm-1@2']);

      broken.delete('m-2');
      const skipped = await api(`dead-letters/${id('m-2')}/skip`, 'POST');
      expect(skipped.body as DashboardActionResult).toMatchObject({ action: 'skip', via: 'owner', outcome: 'succeeded', handled: 1, remaining: 0 });
      expect(handled).toEqual(['m-1@1', 'm-1@2', 'm-2@2']);

      const again = await api(`dead-letters/${id('m-3')}/retry`, 'POST');
      expect(again.body as DashboardActionResult).toMatchObject({ outcome: 'failed', handled: 0, remaining: 2, error: 'm-3: 550 no such user' });

      const gone = await api(`dead-letters/${id('m-2')}/skip`, 'POST');
      expect(gone).toMatchObject({ status: 404, body: { code: 'DEAD_LETTER_NOT_FOUND' } });
      expect((await api('dead-letters')).body.map((l: { streamId: string }) => l.streamId)).toEqual(['m-3', 'm-3']);
    } finally {
      await dashboard.close();
      await sub.stop();
      await dashboardStore.close();
      await ownerStore.close();
    }
  });
});
