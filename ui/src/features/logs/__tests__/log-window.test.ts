import { describe, expect, it } from 'vitest';

import {
  append,
  appendPieces,
  fromTail,
  hasEarlier,
  prepend,
  trimStart,
  windowText,
} from '../utils/log-window';

const bytes = (text: string) => new TextEncoder().encode(text);

/** A log of numbered lines, and its bytes. */
function log(lines: number): { text: string; bytes: Uint8Array } {
  const text = Array.from({ length: lines }, (_, i) => `line ${i}\n`).join('');
  return { text, bytes: bytes(text) };
}

describe('fromTail', () => {
  it('holds a whole log read from byte 0', () => {
    const window = fromTail(bytes('a\nb\n'), 0);
    expect(window).toMatchObject({ start: 0, end: 4, size: 4 });
    expect(windowText(window)).toBe('a\nb\n');
    expect(hasEarlier(window)).toBe(false);
  });

  it('drops the partial first line of a tail read from the middle', () => {
    const whole = log(100);
    const offset = whole.bytes.length - 30;
    const window = fromTail(whole.bytes.subarray(offset), offset, whole.bytes.length);
    const text = windowText(window);
    expect(text.startsWith('line ')).toBe(true);
    expect(whole.text.endsWith(text)).toBe(true);
    expect(window.start).toBe(whole.bytes.length - bytes(text).length);
    expect(window.end).toBe(whole.bytes.length);
    expect(hasEarlier(window)).toBe(true);
  });

  it('keeps a line longer than the chunk rather than nothing', () => {
    const window = fromTail(bytes('xxxxxxxxxx'), 50);
    expect(windowText(window)).toBe('xxxxxxxxxx');
    expect(window.start).toBe(50);
  });

  it('never cuts a multi-byte character: the cut is after a newline', () => {
    const text = 'ééééé\nünïcödé\n';
    const all = bytes(text);
    // Start inside the first é (byte 1 of 2).
    const window = fromTail(all.subarray(1), 1, all.length);
    expect(windowText(window)).toBe('ünïcödé\n');
    expect(windowText(window)).not.toContain('\uFFFD');
  });
});

describe('append', () => {
  it('adds output and counts its bytes of the file', () => {
    let window = fromTail(bytes('a\n'), 0);
    window = append(window, 'é\n', 3, 1000);
    expect(windowText(window)).toBe('a\né\n');
    expect(window.end).toBe(5);
    expect(window.size).toBe(5);
    // Small pieces join the last chunk: one DOM node, not one per event.
    expect(window.chunks).toHaveLength(1);
  });

  it('ignores an empty append', () => {
    const window = fromTail(bytes('a\n'), 0);
    expect(append(window, '', 0, 1000)).toBe(window);
  });

  it('drops the oldest lines past the limit, at a line start', () => {
    let window = fromTail(bytes(''), 0);
    for (let i = 0; i < 2000; i++)
      window = append(window, `line ${i}\n`, bytes(`line ${i}\n`).length, 4096);
    expect(window.end - window.start).toBeLessThanOrEqual(4096);
    const text = windowText(window);
    expect(text.startsWith('line ')).toBe(true);
    expect(text.endsWith('line 1999\n')).toBe(true);
    expect(window.start).toBe(window.end - bytes(text).length);
  });
});

describe('prepend', () => {
  it('adds the earlier part in order, with no gap and no duplicate', () => {
    const whole = log(1000);
    const tailStart = whole.bytes.length - 500;
    let window = fromTail(whole.bytes.subarray(tailStart), tailStart, whole.bytes.length);
    while (hasEarlier(window)) {
      const from = Math.max(0, window.start - 700);
      window = prepend(window, whole.bytes.subarray(from, window.start), from);
    }
    expect(windowText(window)).toBe(whole.text);
    expect(window.start).toBe(0);
  });

  it('moves the start back even when the part has no whole line', () => {
    const window = fromTail(bytes('end\n'), 100, 104);
    const next = prepend(window, bytes('xx'), 98);
    expect(next.start).toBeLessThanOrEqual(100);
  });
});

describe('trimStart', () => {
  it('leaves a window under the limit alone', () => {
    const window = fromTail(bytes('a\nb\n'), 0);
    expect(trimStart(window, 100)).toBe(window);
  });

  it('cuts inside one big chunk, after a newline', () => {
    const whole = log(1000);
    const window = trimStart(fromTail(whole.bytes, 0), 2000);
    const text = windowText(window);
    expect(window.end - window.start).toBeLessThanOrEqual(2000);
    expect(text.startsWith('line ')).toBe(true);
    expect(whole.text.endsWith(text)).toBe(true);
  });
});

describe('appendPieces', () => {
  it('appends what arrived since the last render at once', () => {
    const window = appendPieces(
      fromTail(bytes('a\n'), 0),
      [
        { text: 'b\n', bytes: 2 },
        { text: 'c\n', bytes: 2 },
      ],
      1000,
    );
    expect(windowText(window)).toBe('a\nb\nc\n');
    expect(window).toMatchObject({ start: 0, end: 6 });
  });

  it('jumps ahead over a flood, leaving the skipped part to load as earlier output', () => {
    const pieces = Array.from({ length: 100 }, (_, i) => ({
      text: `line ${i}\n`.padEnd(100, '.'),
      bytes: 100,
    }));
    const window = appendPieces(fromTail(bytes('a\n'), 0), pieces, 1000);
    expect(window.end).toBe(2 + 100 * 100);
    expect(window.end - window.start).toBeLessThanOrEqual(1000);
    expect(hasEarlier(window)).toBe(true);
    expect(windowText(window)).toContain('line 99');
    expect(windowText(window)).not.toContain('line 80\n');
  });
});
