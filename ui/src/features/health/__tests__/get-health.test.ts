import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '@/lib/api-client';

import { getHealth } from '../api/get-health';

function respondWith(status: number, body: string) {
  vi.stubGlobal(
    'fetch',
    vi.fn(
      async () => new Response(body, { status, headers: { 'Content-Type': 'application/json' } }),
    ),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('getHealth', () => {
  it('returns the body of a 200', async () => {
    respondWith(200, JSON.stringify({ status: 'ok', checks: { db: { status: 'ok' } } }));
    await expect(getHealth()).resolves.toEqual({ status: 'ok', checks: { db: { status: 'ok' } } });
    const request = vi.mocked(fetch).mock.calls[0]?.[0] as Request;
    expect(new URL(request.url).pathname).toBe('/healthz');
    expect(request.method).toBe('GET');
  });

  it('treats a 503 with a health body as a result, not a failure', async () => {
    respondWith(
      503,
      JSON.stringify({ status: 'error', checks: { db: { status: 'error', detail: 'gone' } } }),
    );
    await expect(getHealth()).resolves.toEqual({
      status: 'error',
      checks: { db: { status: 'error', detail: 'gone' } },
    });
  });

  it('fails on other errors', async () => {
    respondWith(502, 'Bad Gateway');
    await expect(getHealth()).rejects.toBeInstanceOf(ApiError);
  });
});
