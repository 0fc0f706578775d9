/**
 * A store location fit to show: a URL's password (and a `password=` query parameter) replaced
 * by `***`; anything else (an embedded directory) as it is. The dashboard shows where it reads
 * from, and that page may be screenshotted or shared.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/shop') // 'postgres://app:***@db:5432/shop'
 */
export function redactUrl(location: string): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location;
  }
  if (!url.host) return location;
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
  return url.toString();
}
