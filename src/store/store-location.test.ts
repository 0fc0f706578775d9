import { describe, expect, it } from 'vitest';
import { parseStoreLocation } from './store-location.js';
import { caught } from '../../test/caught.js';

const refusal = async (location: string) => caught((async () => parseStoreLocation(location))());

describe('parseStoreLocation', () => {
  it('reads memory and PostgreSQL locations, in any case of the scheme', () => {
    expect(parseStoreLocation('memory:')).toEqual({ kind: 'memory' });
    expect(parseStoreLocation('memory://')).toEqual({ kind: 'memory' });
    expect(parseStoreLocation('MEMORY:')).toEqual({ kind: 'memory' });
    expect(parseStoreLocation('postgres://u@h:5432/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h:5432/db' });
    expect(parseStoreLocation('postgresql://u@h/db?sslmode=require')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db?sslmode=require' });
    expect(parseStoreLocation('Postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'Postgres://u@h/db' });
  });

  it('keeps paths as paths: relative, absolute, Windows drives, names with a colon after a dot', () => {
    for (const path of ['./data/events', 'data/events', '/var/lib/events', '../up', 'C:\\data\\events', 'c:/data', 'D:rel', './mysql:x', '.factum/db']) {
      expect(parseStoreLocation(path)).toEqual({ kind: 'embedded', dataDir: path });
    }
  });

  it('reads file: URLs as paths, absolute and relative', () => {
    expect(parseStoreLocation('file:///var/lib/events')).toEqual({ kind: 'embedded', dataDir: '/var/lib/events' });
    expect(parseStoreLocation('file://localhost/var/lib/events')).toEqual({ kind: 'embedded', dataDir: '/var/lib/events' });
    expect(parseStoreLocation('file:///tmp/with%20space')).toEqual({ kind: 'embedded', dataDir: '/tmp/with space' });
    expect(parseStoreLocation('file:rel/dir')).toEqual({ kind: 'embedded', dataDir: 'rel/dir' });
    expect(parseStoreLocation('file:/abs/dir')).toEqual({ kind: 'embedded', dataDir: '/abs/dir' });
  });

  it('refuses the empty string, other schemes and memory: with a suffix, naming the accepted forms', async () => {
    for (const location of ['', '   ', 'mysql://root@host/x', 'redis://127.0.0.1:6379', 'sqlite:events.db', 'memory:x', 'memory://db', 'postgres:db', 'file:', 'file://otherhost/x', 'http://example.com']) {
      const error = await refusal(location);
      expect(error.code, location).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('postgres://');
      expect(error.message).toContain('"memory:"');
      expect(error.message).toContain('file: URL');
    }
  });

  it('never shows a password of a refused URL', async () => {
    const error = await refusal('mysql://root:hunter2@host/x');
    expect(error.message).not.toContain('hunter2');
    expect(JSON.stringify(error.details)).not.toContain('hunter2');
    expect(error.message).toContain('mysql://root:***@host/x');
    const unencoded = await refusal('mysql://root:p@ss@host/x');
    expect(unencoded.message).not.toContain('ss@');
    expect(unencoded.message).toContain('mysql://root:***@host/x');
  });
});
