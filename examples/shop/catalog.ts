/** What the shop sells, to whom, and from where; the seeded run draws its orders from here. */
import type { Warehouse } from './events.js';

export const WAREHOUSES: readonly Warehouse[] = ['east', 'west'];

/** SKU → unit price in cents. */
export const PRODUCTS: Readonly<Record<string, number>> = {
  'kettle': 3490,
  'teapot': 2450,
  'mug': 890,
  'grinder': 5900,
  'scale': 2990,
  'filter-pack': 650,
};

export const CUSTOMERS: readonly string[] = [
  'ada', 'alan', 'barbara', 'donald', 'edsger', 'frances', 'grace', 'john', 'katherine', 'ken',
  'leslie', 'linus', 'margaret', 'niklaus', 'radia', 'robin', 'shafi', 'sophie', 'tim', 'yukihiro',
];

/** Cards ending in 0002 are declined (see payments/payment-decider.ts). */
export const GOOD_CARD = '4242424242424242';
export const DECLINED_CARD = '4000000000000002';
/** The orchestrated checkout's test cards: an issuer that never answers the authorisation, and one that declines the capture. */
export const SILENT_ISSUER_CARD = '4000000000000259';
export const CAPTURE_DECLINED_CARD = '4000000000000341';
