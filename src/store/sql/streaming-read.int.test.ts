// Reading a long stream holds one page in memory, not the stream.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresUnavailable } from '../../../test/services.js';
import { dropSchemas, uniqueSchema } from '../../../test/stores.js';
import { openPostgresEventStore } from '../postgres/postgres-event-store.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => (gc(), process.memoryUsage().heapUsed);

const skip = await postgresUnavailable();
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describe.skipIf(Boolean(skip))(`streaming reads${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('iterates a 60,000-event stream (about 60 MB of data) with flat memory', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = await openPostgresEventStore({ connection: POSTGRES_URL, schema });
    try {
      const payload = 'x'.repeat(1000);
      for (let batch = 0; batch < 6; batch++) {
        await store.append('long-1', Array.from({ length: 10_000 }, (_, i) => ({ type: 'Filled', data: { n: batch * 10_000 + i, payload } })));
      }
      const baseline = heap();
      let peak = 0;
      let count = 0;
      let sum = 0;
      for await (const event of store.readStream('long-1', { pageSize: 500 })) {
        count++;
        sum += (event.data as { n: number }).n;
        if (count % 10_000 === 0) peak = Math.max(peak, heap() - baseline);
      }
      expect(count).toBe(60_000);
      expect(sum).toBe((60_000 * 59_999) / 2);
      // Holding the stream would take well over 60 MB; one page of 500 events is about 1 MB.
      expect(peak).toBeLessThan(24 * 1024 * 1024);
    } finally {
      await store.close();
    }
  }, 180_000);
});
