import { afterEach, describe, expect, it, vi } from 'vitest';

import { readAtMost, readLogRange, readLogTail } from '../api/read-log';

afterEach(() => {
  vi.unstubAllGlobals();
});

/** A body that arrives in `chunks` and records whether the reader cancelled it. */
function streamed(chunks: string[], headers: Record<string, string> = {}) {
  const state = { cancelled: false, pulled: 0 };
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[state.pulled++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { response: new Response(body, { status: 200, headers }), state };
}

/** A fake log server: `?offset=N` answers the bytes from N, with X-Next-Offset. */
function logServer(text: string) {
  const all = new TextEncoder().encode(text);
  const requests: string[] = [];
  const fetch = vi.fn(async (input: string | URL | Request) => {
    const url = new URL(String(input), 'http://localhost');
    requests.push(url.pathname + url.search);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const body = all.subarray(Math.min(offset, all.length));
    return new Response(body, {
      status: 200,
      headers: {
        'X-Next-Offset': String(offset + body.length),
        'Content-Length': String(body.length),
      },
    });
  });
  vi.stubGlobal('fetch', fetch);
  return { requests, size: all.length };
}

describe('readAtMost', () => {
  it('reads a short body whole', async () => {
    const { response, state } = streamed(['ab', 'cd']);
    const result = await readAtMost(response, 10);
    expect(new TextDecoder().decode(result.bytes)).toBe('abcd');
    expect(result.truncated).toBe(false);
    expect(state.cancelled).toBe(false);
  });

  it('stops at the limit and cancels the rest of the transfer', async () => {
    const { response, state } = streamed(['abc', 'def', 'ghi', 'jkl']);
    const result = await readAtMost(response, 5);
    expect(new TextDecoder().decode(result.bytes)).toBe('abcde');
    expect(result.truncated).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(4);
  });
});

describe('readLogTail', () => {
  it('reads a small log in one request', async () => {
    const server = logServer('one\ntwo\n');
    const tail = await readLogTail('/api/jobs/1/log', 1024);
    expect(new TextDecoder().decode(tail.bytes)).toBe('one\ntwo\n');
    expect(tail).toMatchObject({ offset: 0, size: 8, truncated: false });
    expect(server.requests).toEqual(['/api/jobs/1/log?offset=0']);
  });

  it('reads only the end of a big log: its size from the headers, then the last bytes', async () => {
    const text = 'x'.repeat(99) + '\n';
    const server = logServer(text.repeat(10_000)); // 1 MB
    const tail = await readLogTail('/api/jobs/1/log', 1000);
    expect(server.requests).toEqual([
      '/api/jobs/1/log?offset=0',
      `/api/jobs/1/log?offset=${server.size - 1000}&limit=2000`,
    ]);
    expect(tail.offset).toBe(server.size - 1000);
    expect(tail.bytes.length).toBe(1000);
    expect(tail.size).toBe(server.size);
  });
});

describe('readLogRange', () => {
  it('says when more follows the bytes it read', async () => {
    logServer('0123456789');
    const range = await readLogRange('/log', 2, 3);
    expect(new TextDecoder().decode(range.bytes)).toBe('234');
    expect(range).toMatchObject({ offset: 2, size: 10, truncated: true });
    const rest = await readLogRange('/log', 5, 100);
    expect(new TextDecoder().decode(rest.bytes)).toBe('56789');
    expect(rest.truncated).toBe(false);
  });
});
