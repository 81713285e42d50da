/**
 * Byte ranges of a log (`GET .../log?offset=N`, `GET .../build-log?offset=N`).
 *
 * The server answers with everything from `offset` to the end and says where
 * that ends in `X-Next-Offset`. For a 200 MB log the browser must not take all
 * of it: the body is read as a stream and cancelled after the bytes wanted. A
 * `limit` parameter is sent too, so a server that honours it sends no more.
 */
import { send } from '@/lib/api-client';

export type LogRange = {
  bytes: Uint8Array;
  /** Where the bytes start. */
  offset: number;
  /** The end of the log as the server saw it when answering (its size). */
  size: number;
  /** Whether bytes were left unread (the log goes on after `offset + bytes.length`). */
  truncated: boolean;
};

/** Reads at most `max` bytes of a body, then cancels the rest of the transfer. */
export async function readAtMost(
  response: Response,
  max: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    return { bytes: all.subarray(0, max), truncated: all.length > max };
  }
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  let truncated = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (length + value.length >= max) {
      parts.push(value.subarray(0, max - length));
      truncated = length + value.length > max;
      length = max;
      // Whatever follows may be megabytes: do not wait for it.
      await reader.cancel();
      break;
    }
    parts.push(value);
    length += value.length;
  }
  const bytes = new Uint8Array(length);
  let position = 0;
  for (const part of parts) {
    bytes.set(part, position);
    position += part.length;
  }
  return { bytes, truncated };
}

function headerNumber(response: Response, name: string): number | null {
  const value = response.headers.get(name);
  if (value === null || value.trim() === '') return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** The end of the log as this answer tells it, whether or not the body is read. */
function sizeOf(response: Response, offset: number): number | null {
  return (
    headerNumber(response, 'X-Log-Size') ??
    headerNumber(response, 'X-Next-Offset') ??
    (headerNumber(response, 'Content-Length') ?? -offset) + offset
  );
}

export async function readLogRange(url: string, offset: number, max: number): Promise<LogRange> {
  const response = await send(`${url}?offset=${offset}&limit=${max}`, { cache: 'no-store' });
  const { bytes, truncated } = await readAtMost(response, max);
  const size = Math.max(sizeOf(response, offset) ?? 0, offset + bytes.length);
  return { bytes, offset, size, truncated: truncated || size > offset + bytes.length };
}

/**
 * The last `tailBytes` of the log (about: the server may have more by the time
 * the second request is answered). One request when the log is small; two when
 * it is not: the first only for its headers, the size.
 */
export async function readLogTail(url: string, tailBytes: number): Promise<LogRange> {
  const response = await send(`${url}?offset=0`, { cache: 'no-store' });
  const size = sizeOf(response, 0);
  if (size !== null && size > tailBytes) {
    await response.body?.cancel();
    return readLogRange(url, size - tailBytes, tailBytes * 2);
  }
  const { bytes, truncated } = await readAtMost(response, tailBytes * 2);
  if (truncated) return readLogTail(url, tailBytes); // it grew that fast: once more
  return { bytes, offset: 0, size: Math.max(size ?? 0, bytes.length), truncated: false };
}
