import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, filePath, send } from '../api-client';

afterEach(() => {
  vi.unstubAllGlobals();
});

const problem = (status: number, detail: string) =>
  new Response(JSON.stringify({ title: 'x', status, detail }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });

describe('api client helpers', () => {
  it('encodes each segment of a file path', () => {
    expect(filePath('/api/scripts/3', 'lib/my file#1.py')).toBe(
      '/api/scripts/3/files/lib/my%20file%231.py',
    );
  });

  it('turns an error status into an ApiError with its problem', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => problem(409, 'image is building')),
    );
    const error = await send('/api/images/1/build').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).message).toBe('image is building');
    expect((error as ApiError).problem?.detail).toBe('image is building');
  });
});
