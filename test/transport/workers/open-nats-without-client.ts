// Run from a copy of src/ where no node_modules can be found: prints how opening the NATS broker failed, as JSON.
import { openNatsBroker } from '../../../src/nats.js';

try {
  await openNatsBroker();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  console.log(JSON.stringify({ code: e.code, message: e.message, causeCode: e.cause?.code }));
}
