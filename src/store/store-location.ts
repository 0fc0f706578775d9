import { fileURLToPath } from 'node:url';
import { FactumError } from '../core/errors.js';

/** Which store a location string names. */
export type StoreLocation = { kind: 'memory' } | { kind: 'postgres'; url: string } | { kind: 'embedded'; dataDir: string };

const ACCEPTED = 'nothing (the embedded store in ./.factum/db), a directory path or file: URL, "memory:", or a postgres:// or postgresql:// URL';

// RFC 3986 scheme. One letter is a Windows drive ("C:\\data"), never a scheme: none has one letter.
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/**
 * Reads `openEventStore`'s location string. Anything that looks like a URL must be one we
 * accept: a string such as `'mysql://root@host/x'` used to become a directory named
 * `mysql:/root@host/x`, and a typo in a production URL would quietly open an empty embedded store.
 *
 * @example
 * parseStoreLocation('postgres://app@db/app') // { kind: 'postgres', url: 'postgres://app@db/app' }
 * parseStoreLocation('file:///var/lib/events') // { kind: 'embedded', dataDir: '/var/lib/events' }
 * parseStoreLocation('redis://cache')          // throws INVALID_ARGUMENT naming the accepted forms
 */
export function parseStoreLocation(location: string): StoreLocation {
  if (location.trim() === '') throw refused(location, 'it is empty');
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'embedded', dataDir: location };
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!/^[a-z]+:\/\//i.test(location)) throw refused(location, `a ${scheme} URL starts with "${scheme}://"`);
    return { kind: 'postgres', url: location };
  }
  if (scheme === 'memory') {
    // 'memory:' and 'memory://' only: anything after it would be silently ignored.
    if (/^memory:(\/\/)?$/i.test(location)) return { kind: 'memory' };
    throw refused(location, 'the in-memory store is "memory:" with nothing after it');
  }
  if (scheme === 'file') return { kind: 'embedded', dataDir: filePath(location) };
  throw refused(location, `"${scheme}:" is not a kind of store factum opens (to name a directory whose name has a colon, start it with "./")`);
}

/** `file:///abs/dir` is an absolute path, `file:rel/dir` a relative one (RFC 8089 allows both). */
function filePath(location: string): string {
  let path: string;
  try {
    path = location.startsWith('file://') ? fileURLToPath(location) : decodeURIComponent(location.slice('file:'.length));
  } catch (error) {
    throw refused(location, `it is not a local file URL (${(error as Error).message})`, error);
  }
  if (path === '') throw refused(location, 'the file: URL names no directory');
  return path;
}

function refused(location: string, reason: string, cause?: unknown): FactumError {
  const shown = redactPassword(location);
  return new FactumError('INVALID_ARGUMENT', `openEventStore cannot open ${JSON.stringify(shown)}: ${reason}. It takes ${ACCEPTED}.`, {
    details: { location: shown },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The location with the password of a `scheme://user:password@host` URL replaced, for messages. */
function redactPassword(location: string): string {
  // Up to the last "@" before the path: a password may hold an "@" its writer did not encode.
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/]*@/i, '$1:***@');
}
