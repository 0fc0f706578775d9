import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * A check of a presented token against `token`, in constant time for tokens of its length: the
 * dashboard's pages, its API and the `/metrics` of the dashboard and of `factum serve` share it.
 *
 * @example
 * const matches = tokenMatcher(process.env.FACTUM_METRICS_TOKEN!)
 * if (!matches(headerToken(req))) res.writeHead(401).end()
 */
export function tokenMatcher(token: string): (given: string | null | undefined) => boolean {
  const expected = Buffer.from(token);
  return (given) => {
    if (!given) return false;
    const buffer = Buffer.from(given);
    return buffer.length === expected.length && timingSafeEqual(buffer, expected);
  };
}

/**
 * The token a request carries in a header: `Authorization: Bearer <token>` (what a Prometheus
 * scrape job sends with `authorization: { credentials: … }`), else `x-factum-token`.
 *
 * @example
 * headerToken(req) // 'e3b0…' for `Authorization: Bearer e3b0…`
 */
export function headerToken(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer) return bearer;
  const header = req.headers['x-factum-token'];
  return typeof header === 'string' ? header : undefined;
}
