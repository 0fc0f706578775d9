// Part of `npm run build`: bundles the dashboard's page (Preact, htm, uPlot) into the one file
// the built package serves, dist/dashboard/assets/dashboard.js, and prints its size.
import { buildDashboardBundle } from '../src/dashboard/dashboard-bundle.js';

const out = new URL('../dist/dashboard/assets/dashboard.js', import.meta.url).pathname;
const js = await buildDashboardBundle(out);
const { gzipSync } = await import('node:zlib');
console.log(`dashboard bundle: ${out} ${(js.length / 1024).toFixed(1)} KiB (${(gzipSync(js).length / 1024).toFixed(1)} KiB gzipped)`);
