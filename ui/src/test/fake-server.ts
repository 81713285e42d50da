/**
 * A fake Scripter server at the fetch level: the code under test makes its real
 * calls (openapi-fetch, `send`, `readRawFile`...) and each is answered by a route
 * of the test, so a test sees exactly what would go over the wire.
 */
import { vi } from 'vitest';

export type SentRequest = {
  method: string;
  /** The path without the query (`/api/scripts/1/runs`). */
  path: string;
  query: URLSearchParams;
  /** The body as text ('' when none). */
  body: string;
  headers: Headers;
};

export type Route = (request: SentRequest) => Response | Promise<Response>;

/** A JSON answer. */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

/** A problem answer, as the server sends for a refused request. */
export const problem = (
  status: number,
  detail: string,
  extra: { field?: string; errors?: { field: string; message: string }[] } = {},
) =>
  new Response(JSON.stringify({ status, title: 'Error', detail, ...extra }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });

export const noContent = () => new Response(null, { status: 204 });

async function toSent(input: RequestInfo | URL, init?: RequestInit): Promise<SentRequest> {
  const request =
    input instanceof Request ? input : new Request(new URL(String(input), base()), init);
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname,
    query: url.searchParams,
    body: request.body ? await request.text() : '',
    headers: request.headers,
  };
}

const base = () => globalThis.location?.origin ?? 'http://localhost';

/**
 * Replaces `fetch` with a server answering `routes`, keyed `'METHOD /path'`. A
 * request no route takes is answered 404 and recorded all the same, so a test
 * can assert that nothing else was sent.
 */
export function fakeServer(routes: Record<string, Route>) {
  const requests: SentRequest[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = await toSent(input, init);
    requests.push(request);
    const route = routes[`${request.method} ${request.path}`];
    return route ? route(request) : problem(404, `No route for ${request.method} ${request.path}`);
  });
  vi.stubGlobal('fetch', fetch);
  return {
    requests,
    /** The requests sent with this method to this path. */
    sent: (method: string, path: string) =>
      requests.filter((request) => request.method === method && request.path === path),
    /** The requests other than reads (what changes something on the server). */
    changes: () => requests.filter((request) => request.method !== 'GET'),
  };
}
