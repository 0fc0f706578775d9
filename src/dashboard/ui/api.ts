/// <reference lib="dom" />
/**
 * The page's calls to the dashboard's API. The token comes from the page's own URL and travels
 * in the header the API requires (never in an API URL, so it is not in any log of those).
 */
export const token = new URLSearchParams(location.search).get('token') ?? '';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T = any>(path: string, init: { method?: string } = {}): Promise<T> {
  const response = await fetch(`api/${path}`, { method: init.method ?? 'GET', headers: { 'x-factum-token': token } });
  const body = await response.json();
  if (!response.ok) throw new ApiError(response.status, body.code, body.message);
  return body as T;
}

/** A page link that keeps the token. */
export const link = (hash: string): string => `?token=${encodeURIComponent(token)}#${hash}`;
