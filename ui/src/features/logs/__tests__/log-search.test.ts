import { describe, expect, it } from 'vitest';

import { findMatches, isAtEnd, splitByMatches } from '../utils/log-search';

describe('findMatches', () => {
  it('finds every match, ignoring case', () => {
    expect(findMatches('Error here, error there', 'error')).toEqual([
      [0, 5],
      [12, 17],
    ]);
    expect(findMatches('abc', '')).toEqual([]);
    expect(findMatches('aaaa', 'a', 2)).toHaveLength(2);
  });

  it('splits text into plain and matching parts', () => {
    expect(splitByMatches('one ERROR two', 'error')).toEqual([
      { text: 'one ', match: false },
      { text: 'ERROR', match: true },
      { text: ' two', match: false },
    ]);
  });
});

describe('isAtEnd', () => {
  it('follows while the end is in view, not once scrolled up', () => {
    expect(isAtEnd({ scrollTop: 600, scrollHeight: 1000, clientHeight: 400 })).toBe(true);
    expect(isAtEnd({ scrollTop: 590, scrollHeight: 1000, clientHeight: 400 })).toBe(true);
    expect(isAtEnd({ scrollTop: 500, scrollHeight: 1000, clientHeight: 400 })).toBe(false);
    expect(isAtEnd({ scrollTop: 0, scrollHeight: 300, clientHeight: 400 })).toBe(true);
  });
});
