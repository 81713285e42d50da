import { describe, expect, it } from 'vitest';

import { takeTokenFromUrl } from '../utils/token-in-url';

describe('takeTokenFromUrl', () => {
  it('takes the token and keeps the rest of the address', () => {
    expect(takeTokenFromUrl('http://127.0.0.1:8000/jobs/3?tab=log&token=abc-_1#end')).toEqual({
      token: 'abc-_1',
      cleaned: '/jobs/3?tab=log#end',
    });
  });

  it('leaves an address without a token alone', () => {
    expect(takeTokenFromUrl('http://127.0.0.1:8000/?tab=run')).toEqual({
      token: null,
      cleaned: null,
    });
  });

  it('cleans an empty token parameter but logs nothing in', () => {
    expect(takeTokenFromUrl('http://h/?token=%20')).toEqual({ token: null, cleaned: '/' });
  });
});
