import { defineConfig } from 'vitest/config';

/**
 * Tests that restart a server (`*.serial.int.test.ts`) run alone, after the rest
 * (vitest.serial.config.ts): run beside other files they would cut those files' connections.
 */
export const SERIAL_TESTS = ['**/*.serial.int.test.ts'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...SERIAL_TESTS],
    // PGlite starts a WebAssembly PostgreSQL per file, and the PostgreSQL tests use real
    // concurrency: two cores are enough for two files at a time.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
