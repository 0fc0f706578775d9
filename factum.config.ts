// The config of the `factum` CLI for the shop that `npm start` runs (see the README's "Operating
// from a terminal"): `npx factum projections` and `npx factum projections rebuild order-summary`.
import { defineConfig } from './src/index.js';
import { ASYNC_PROJECTIONS, INLINE_PROJECTIONS } from './examples/shop/shop.js';

export default defineConfig({
  db: process.env.FACTUM_DATA_DIR || './.factum/shop',
  projections: ASYNC_PROJECTIONS,
  inlineProjections: INLINE_PROJECTIONS,
});
