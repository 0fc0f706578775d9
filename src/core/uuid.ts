import { randomFillSync } from 'node:crypto';

let lastMillis = 0;
let sequence = 0;

/** Random bytes drawn 4 KiB at a time: one call into the system's generator per 256 ids, not one per id. */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made in one process
 * sort by creation time, which keeps B-tree inserts on `event_id` local.
 * Within one millisecond a 12-bit counter in `rand_a` keeps them strictly increasing.
 *
 * @example
 * const id = uuidv7() // '01936f0e-8a4b-7c3d-9e2f-...'
 */
export function uuidv7(): string {
  let now = Date.now();
  if (now <= lastMillis) {
    sequence += 1;
    if (sequence > 0xfff) {
      // Counter exhausted within one millisecond: borrow the next millisecond.
      lastMillis += 1;
      sequence = 0;
    }
    now = lastMillis;
  } else {
    lastMillis = now;
    sequence = 0;
  }
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, (poolOffset += 16));
  bytes[0] = (now / 2 ** 40) & 0xff;
  bytes[1] = (now / 2 ** 32) & 0xff;
  bytes[2] = (now >>> 24) & 0xff;
  bytes[3] = (now >>> 16) & 0xff;
  bytes[4] = (now >>> 8) & 0xff;
  bytes[5] = now & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let id = '';
  for (let i = 0; i < 16; i++) id += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[bytes[i]!];
  return id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a canonical UUID string of any version.
 *
 * @example
 * isUuid(uuidv7()) // true
 * isUuid('order-1') // false
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
