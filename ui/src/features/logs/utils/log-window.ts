/**
 * The part of a log the browser holds: a window of bytes [start, end) of a file
 * that may be far larger (a 200 MB log). It begins as the tail, grows at the end
 * as output arrives, grows at the start when the user asks for earlier output,
 * and drops its oldest lines when it holds more than `maxBytes`, so the tab stays
 * responsive whatever the file's size.
 *
 * Every edge of the window inside the file lies just after a newline (or at
 * byte 0): a chunk fetched from an arbitrary offset drops its first, partial
 * line. A newline byte never occurs inside a multi-byte UTF-8 character, so
 * text is never cut in the middle of one.
 */

export type LogChunk = {
  /** Stable React key. */
  key: number;
  text: string;
  /** Its length in bytes of the file. */
  bytes: number;
};

export type LogWindow = {
  start: number;
  end: number;
  chunks: LogChunk[];
  /** The file's size as last reported by the server (at least `end`). */
  size: number;
  nextKey: number;
};

/** Output appended to a chunk smaller than this joins it (fewer DOM nodes). */
const MERGE_BELOW = 64 * 1024;
const NEWLINE = 0x0a;

export const emptyWindow = (): LogWindow => ({ start: 0, end: 0, chunks: [], size: 0, nextKey: 0 });

const decoder = () => new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Bytes read from `offset`; unless that is 0, without the line they cut into. */
function fromLineStart(bytes: Uint8Array, offset: number): { text: string; skipped: number } {
  let skipped = 0;
  if (offset > 0) {
    const newline = bytes.indexOf(NEWLINE);
    // One line longer than the chunk: keep it rather than show nothing.
    if (newline !== -1 && newline < bytes.length - 1) skipped = newline + 1;
  }
  return { text: decoder().decode(bytes.subarray(skipped)), skipped };
}

/** The window of a tail read: `bytes` from `offset` (0 when the whole log was read). */
export function fromTail(
  bytes: Uint8Array,
  offset: number,
  size = offset + bytes.length,
): LogWindow {
  const { text, skipped } = fromLineStart(bytes, offset);
  const chunkBytes = bytes.length - skipped;
  return {
    start: offset + skipped,
    end: offset + bytes.length,
    chunks: chunkBytes ? [{ key: 0, text, bytes: chunkBytes }] : [],
    size: Math.max(size, offset + bytes.length),
    nextKey: 1,
  };
}

/** Adds output at the end: `text` is the decoded form of `bytes` bytes of the file. */
export function append(
  window: LogWindow,
  text: string,
  bytes: number,
  maxBytes: number,
): LogWindow {
  if (bytes <= 0) return window;
  const chunks = window.chunks.slice();
  const last = chunks[chunks.length - 1];
  let nextKey = window.nextKey;
  if (last && last.bytes < MERGE_BELOW) {
    chunks[chunks.length - 1] = {
      key: last.key,
      text: last.text + text,
      bytes: last.bytes + bytes,
    };
  } else {
    chunks.push({ key: nextKey++, text, bytes });
  }
  const end = window.end + bytes;
  return trimStart({ ...window, chunks, end, size: Math.max(window.size, end), nextKey }, maxBytes);
}

/** Adds earlier output: `bytes` read from `offset`, ending at the window's start. */
export function prepend(window: LogWindow, bytes: Uint8Array, offset: number): LogWindow {
  const { text, skipped } = fromLineStart(bytes, offset);
  const chunkBytes = bytes.length - skipped;
  if (chunkBytes <= 0) return { ...window, start: Math.min(window.start, offset + bytes.length) };
  return {
    ...window,
    start: offset + skipped,
    chunks: [{ key: window.nextKey, text, bytes: chunkBytes }, ...window.chunks],
    nextKey: window.nextKey + 1,
  };
}

/**
 * Drops the oldest lines once the window holds more than `maxBytes`: down to
 * three quarters of it, so that a steady stream does not trim on every append.
 */
export function trimStart(window: LogWindow, maxBytes: number): LogWindow {
  let held = window.end - window.start;
  if (held <= maxBytes) return window;
  const target = Math.floor(maxBytes * 0.75);
  const chunks = window.chunks.slice();
  let start = window.start;
  while (chunks.length > 1 && held > target) {
    const first = chunks[0]!;
    if (held - first.bytes < target / 2) break; // too much at once: cut inside it below
    chunks.shift();
    start += first.bytes;
    held -= first.bytes;
  }
  const first = chunks[0];
  if (held > target && first) {
    const raw = encoder.encode(first.text);
    const newline = raw.indexOf(NEWLINE, Math.max(0, held - target - 1));
    if (newline !== -1 && newline < raw.length - 1) {
      const cut = newline + 1;
      chunks[0] = {
        key: first.key,
        text: decoder().decode(raw.subarray(cut)),
        bytes: first.bytes - cut,
      };
      start += cut;
    }
  }
  return { ...window, chunks, start };
}

export type LogPiece = { text: string; bytes: number };

/**
 * Appends the pieces that arrived since the last render, at once. When they
 * alone are more than `maxBytes` (a job writing faster than anyone reads), the
 * oldest pieces are not kept at all: the window jumps ahead, and what it skipped
 * can still be loaded as "earlier output".
 */
export function appendPieces(window: LogWindow, pieces: LogPiece[], maxBytes: number): LogWindow {
  let total = pieces.reduce((sum, piece) => sum + piece.bytes, 0);
  if (total <= 0) return window;
  let skipped = 0;
  let first = 0;
  while (total > maxBytes && first < pieces.length - 1) {
    skipped += pieces[first]!.bytes;
    total -= pieces[first]!.bytes;
    first++;
  }
  const text = pieces
    .slice(first)
    .map((piece) => piece.text)
    .join('');
  if (skipped === 0) return append(window, text, total, maxBytes);
  const start = window.end + skipped;
  return trimStart(
    {
      start,
      end: start + total,
      chunks: [{ key: window.nextKey, text, bytes: total }],
      size: Math.max(window.size, start + total),
      nextKey: window.nextKey + 1,
    },
    maxBytes,
  );
}

export const hasEarlier = (window: LogWindow) => window.start > 0;

/** The whole text held (for search). */
export const windowText = (window: LogWindow) => window.chunks.map((chunk) => chunk.text).join('');
