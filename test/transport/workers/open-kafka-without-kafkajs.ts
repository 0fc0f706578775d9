// Run from a copy of src/ where no node_modules can be found: prints how opening the Kafka broker failed, as JSON.
import { openKafkaBroker } from '../../../src/kafka.js';

try {
  await openKafkaBroker();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  console.log(JSON.stringify({ code: e.code, message: e.message, causeCode: e.cause?.code }));
}
