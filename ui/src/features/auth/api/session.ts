import { ApiError, client, unwrap } from '@/lib/api-client';
import type { Session } from '@/lib/api-types';

/**
 * Who the server takes this browser for. Throws an `ApiError` with status 401
 * when it has no valid session (then the login screen shows).
 */
export function getSession(): Promise<Session> {
  return unwrap(client.GET('/api/session'));
}

/**
 * Trades the access token for the session cookie (HttpOnly: this code never sees
 * it; the browser sends it with every request, EventSource included).
 */
export async function logIn(token: string): Promise<void> {
  const { error, response } = await client.POST('/api/session', { body: { token } });
  if (!response.ok) throw new ApiError(response.status, response.statusText, error);
}

export async function logOut(): Promise<void> {
  const { error, response } = await client.DELETE('/api/session');
  if (!response.ok) throw new ApiError(response.status, response.statusText, error);
}
