/**
 * The one place the UI talks HTTP to the Scripter server.
 *
 * `client` is typed by `api-schema.d.ts`, generated from the server's OpenAPI
 * document (`npm run gen:api`): a call to a path or with a body the API does not
 * have fails the type check. The raw helpers below are for what OpenAPI does not
 * describe well (raw file bodies, byte ranges of logs).
 *
 * Paths are root-absolute (`/healthz`, `/api/...`): the built UI is served by the
 * same server, and the dev server proxies them (see vite.config.ts).
 */
import createClient from 'openapi-fetch';

import type { paths } from './api-schema';
import { reportUnauthorized } from './auth-events';
import { parseProblem, type Problem } from './problems';

export class ApiError extends Error {
  readonly status: number;
  /** The parsed JSON body, when the server sent one. */
  readonly body: unknown;
  /** The problem body (`application/problem+json`), when the body is one. */
  readonly problem: Problem | null;

  constructor(status: number, statusText: string, body: unknown) {
    const problem = parseProblem(body);
    super(problem?.detail || `HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.problem = problem;
  }
}

/**
 * fetch, looked up at each call (so tests can replace globalThis.fetch), telling
 * the auth gate about a 401: the token was rotated or the session ended.
 */
async function apiFetch(input: RequestInfo, init?: RequestInit): Promise<Response> {
  const response = await globalThis.fetch(input, init);
  if (response.status === 401) reportUnauthorized();
  return response;
}

export const client = createClient<paths>({
  // The page's own origin (a Request needs an absolute URL outside a browser).
  baseUrl: globalThis.location?.origin ?? 'http://localhost',
  fetch: (request: Request) => apiFetch(request),
});

type FetchResult<T> = { data?: T; error?: unknown; response: Response };

/** The data of an openapi-fetch result; throws an `ApiError` for an error status. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, response.statusText, error);
  return data as T;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** fetch, with any error status turned into an `ApiError`. */
export async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await apiFetch(path, init);
  if (!response.ok)
    throw new ApiError(response.status, response.statusText, await readBody(response));
  return response;
}

/** `/api/images/3/files/` + a relative path, each segment encoded. */
export function filePath(base: string, path: string): string {
  return `${base}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A file's bytes (files are raw bodies, not JSON). */
export async function readRawFile(url: string): Promise<Uint8Array> {
  const response = await send(url, { headers: { Accept: 'application/octet-stream' } });
  return new Uint8Array(await response.arrayBuffer());
}

export async function writeRawFile(url: string, content: string): Promise<void> {
  await send(url, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
    body: content,
  });
}

export async function deleteRawFile(url: string): Promise<void> {
  await send(url, { method: 'DELETE' });
}
