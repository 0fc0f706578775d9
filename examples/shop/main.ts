/**
 * `npm start`: the shop on the embedded store (./.factum/shop), or on PostgreSQL with
 * FACTUM_DATABASE_URL=postgres://… (or `--postgres` for postgres://postgres@127.0.0.1:5432/test).
 * FACTUM_DATA_DIR moves the embedded files; FACTUM_SHOP_ORDERS and FACTUM_SHOP_SEED change the run.
 * Exits with 1 when a self-check fails.
 */
import { runShop } from './run-shop.js';

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const args = process.argv.slice(2);
const databaseUrl = process.env.FACTUM_DATABASE_URL || (args.includes('--postgres') ? DEFAULT_POSTGRES_URL : undefined);

const result = await runShop({
  ...(databaseUrl ? { databaseUrl } : {}),
  dataDir: process.env.FACTUM_DATA_DIR || './.factum/shop',
  ...(process.env.FACTUM_SCHEMA ? { schema: process.env.FACTUM_SCHEMA } : {}),
  orders: Number(process.env.FACTUM_SHOP_ORDERS || 250),
  seed: Number(process.env.FACTUM_SHOP_SEED || 42),
  print: (line = '') => console.log(line),
});
if (result.invariants.some((r) => !r.ok)) process.exitCode = 1;
