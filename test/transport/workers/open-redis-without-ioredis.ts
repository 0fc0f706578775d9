// Run from a copy of src/ where no node_modules can be found: prints how opening the Redis broker failed, as JSON.
import { openRedisBroker } from '../../../src/redis.js';

try {
  await openRedisBroker();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  console.log(JSON.stringify({ code: e.code, message: e.message, causeCode: e.cause?.code }));
}
