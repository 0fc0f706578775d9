import { defineConfig } from 'vitest/config';
import base, { SERIAL_TESTS } from './vitest.config.js';

/** The tests that restart a server, one file at a time and with nothing else running. */
export default defineConfig({ test: { ...base.test, include: SERIAL_TESTS, exclude: ['**/node_modules/**'], fileParallelism: false } });
