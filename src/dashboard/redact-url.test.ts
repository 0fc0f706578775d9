import { expect, it } from 'vitest';
import { redactUrl } from './redact-url.js';

it('removes the password of a URL, and of a password query parameter; leaves a directory alone', () => {
  expect(redactUrl('postgres://app:s3cret@db:5432/shop')).toBe('postgres://app:***@db:5432/shop');
  expect(redactUrl('postgres://db/shop?user=app&password=s3cret&sslmode=require')).toBe('postgres://db/shop?user=app&password=***&sslmode=require');
  expect(redactUrl('postgres://app@db/shop')).toBe('postgres://app@db/shop');
  expect(redactUrl('./.factum/db')).toBe('./.factum/db');
  expect(redactUrl('/var/lib/factum')).toBe('/var/lib/factum');
});
