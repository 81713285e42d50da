import { describe, expect, it } from 'vitest';

import { formatBytes, formatDuration, formatRelative } from '../format';

describe('format', () => {
  it('formats sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(0.0799)).toBe('80 ms');
    expect(formatDuration(3.25)).toBe('3.3 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(7260)).toBe('2 h 1 min');
  });

  it('formats times relative to now', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(formatRelative('2026-01-01T11:57:00Z', now)).toMatch(/3 min/);
    expect(formatRelative('2026-01-01T14:00:00Z', now)).toMatch(/in 2 hr/);
    expect(formatRelative(null, now)).toBe('—');
  });
});
