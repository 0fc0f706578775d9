import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FactumError } from '../core/errors.js';

/** Where `npm run build` writes the page's one JavaScript file, next to the built module. */
export const BUNDLE_FILE = fileURLToPath(new URL('./assets/dashboard.js', import.meta.url));
const ENTRY = fileURLToPath(new URL('./ui/main.ts', import.meta.url));

let cached: Promise<string> | undefined;

/**
 * The dashboard's JavaScript: the file the package build wrote (dist/dashboard/assets/), or,
 * when running from source (tests through tsx), the same bundle built in memory by esbuild on
 * first use. Nothing is fetched from the network.
 *
 * @example
 * const js = await dashboardBundle()
 */
export function dashboardBundle(): Promise<string> {
  cached ??= readFile(BUNDLE_FILE, 'utf8').catch(() => buildDashboardBundle());
  cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * Bundles src/dashboard/ui (Preact, htm, uPlot and its CSS) into one minified ES module, and
 * writes it to `outFile` when given. esbuild is a dev dependency: a built package never needs it.
 *
 * @example
 * await buildDashboardBundle('dist/dashboard/assets/dashboard.js')
 */
export async function buildDashboardBundle(outFile?: string): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new FactumError('NOT_FOUND', 'The dashboard bundle is not built and esbuild is not installed to build it: run `npm run build`', { cause: error });
  }
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    loader: { '.css': 'text' },
    write: false,
    legalComments: 'none',
  });
  const js = result.outputFiles[0]!.text;
  if (outFile) {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, js);
  }
  return js;
}
