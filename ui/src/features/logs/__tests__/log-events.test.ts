import { describe, expect, it } from 'vitest';

import { endStatusOf, logTextOf, offsetOf } from '../utils/log-events';

describe('logTextOf', () => {
  it('decodes the JSON string the server sends', () => {
    expect(logTextOf('"tick 1\\n\\ttab \\u00e9"', 12)).toBe('tick 1\n\ttab é');
  });

  it('reads text from an object', () => {
    expect(logTextOf('{"text":"a\\n"}', null)).toBe('a\n');
  });

  it('puts back the final newline raw SSE data loses, when the offsets say so', () => {
    expect(logTextOf('plain line', 11)).toBe('plain line\n');
    expect(logTextOf('plain line', 10)).toBe('plain line');
    expect(logTextOf('plain line', null)).toBe('plain line');
  });
});

describe('endStatusOf', () => {
  it('reads the outcome', () => {
    expect(endStatusOf('{"status":"succeeded","exit_code":0}')).toBe('succeeded');
    expect(endStatusOf('"failed"')).toBe('failed');
    expect(endStatusOf('built')).toBe('built');
    expect(endStatusOf('{}')).toBeNull();
  });
});

describe('offsetOf', () => {
  it('reads a byte offset id', () => {
    expect(offsetOf('1024')).toBe(1024);
    expect(offsetOf('')).toBeNull();
    expect(offsetOf(null)).toBeNull();
    expect(offsetOf('abc')).toBeNull();
  });
});
