import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, send } from '@/lib/api-client';
import { onUnauthorized } from '@/lib/auth-events';

import { getSession, logIn } from '../api/session';

afterEach(() => {
  vi.unstubAllGlobals();
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });

describe('session api', () => {
  it('posts the token as JSON to /api/session', async () => {
    const fetch = vi.fn(async (_: Request) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', fetch);
    await logIn('secret');
    const request = fetch.mock.calls[0]![0];
    expect(request.method).toBe('POST');
    expect(new URL(request.url).pathname).toBe('/api/session');
    expect(await request.json()).toEqual({ token: 'secret' });
  });

  it('turns a refused token into an ApiError naming the field', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        json(401, { title: 'x', status: 401, detail: 'not valid', field: 'token' }),
      ),
    );
    const error = await logIn('wrong').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).problem?.field).toBe('token');
  });

  it('reports every 401 so the login screen can show', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(401, { title: 'x', status: 401, detail: 'log in' })),
    );
    const heard = vi.fn();
    const stop = onUnauthorized(heard);
    try {
      await expect(getSession()).rejects.toBeInstanceOf(ApiError);
      await expect(send('/api/jobs/1/log')).rejects.toBeInstanceOf(ApiError);
      expect(heard).toHaveBeenCalledTimes(2);
    } finally {
      stop();
    }
  });

  it('does not report other errors', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(404, { title: 'x', status: 404, detail: 'no' })),
    );
    const heard = vi.fn();
    const stop = onUnauthorized(heard);
    try {
      await expect(send('/api/jobs/1')).rejects.toBeInstanceOf(ApiError);
      expect(heard).not.toHaveBeenCalled();
    } finally {
      stop();
    }
  });
});
