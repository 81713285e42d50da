/**
 * The one place the UI talks HTTP to the Scripter server.
 *
 * Paths are root-absolute (`/healthz`, `/api/...`): the built UI is served by
 * the same server, and the dev server proxies them (see vite.config.ts).
 */

export class ApiError extends Error {
  readonly status: number;
  /** The parsed JSON body, when the server sent one. */
  readonly body: unknown;

  constructor(status: number, statusText: string, body: unknown) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function request(path: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(path, {
    ...init,
    headers: { Accept: 'application/json', ...init.headers },
  });
  const body = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, response.statusText, body);
  return body;
}

export const api = {
  get: (path: string, init?: RequestInit) => request(path, { ...init, method: 'GET' }),
};
