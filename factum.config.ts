// The config of the `factum` CLI for the shop that `npm start` runs (see the README's "Operating
// from a terminal"): `npx factum projections` and `npx factum projections rebuild order-summary`;
// `npx factum dashboard` folds the shop's streams with their deciders (state at each version).
import { defineConfig } from './src/index.js';
import { ASYNC_PROJECTIONS, INLINE_PROJECTIONS } from './examples/shop/shop.js';
import { orderDecider } from './examples/shop/orders/order-decider.js';
import { paymentDecider } from './examples/shop/payments/payment-decider.js';
import { inventoryDecider } from './examples/shop/inventory/inventory-decider.js';
import { shipmentDecider } from './examples/shop/shipping/shipment-decider.js';
import { checkoutSaga } from './examples/shop/checkout/checkout-saga.js';

export default defineConfig({
  db: process.env.FACTUM_DATA_DIR || './.factum/shop',
  projections: ASYNC_PROJECTIONS,
  inlineProjections: INLINE_PROJECTIONS,
  // The orchestrated checkout (`npm start -- --orchestrated`): listed by `npx factum sagas` on its store.
  workflows: [checkoutSaga({ authorisationTimeoutMs: 2000 })],
  deciders: { order: orderDecider, payment: paymentDecider, inventory: inventoryDecider, shipment: shipmentDecider },
});
