import { describe, expect, it } from 'vitest';

import { combineQueries } from '../queries';

const done = { isPending: false, isError: false, error: null };
const waiting = { isPending: true, isError: false, error: null };
const failed = (message: string) => ({
  isPending: false,
  isError: true,
  error: new Error(message),
});

describe('combineQueries', () => {
  it('waits until every query has answered', () => {
    expect(combineQueries([done, waiting, done])).toEqual({ isPending: true, error: null });
    expect(combineQueries([done, done])).toEqual({ isPending: false, error: null });
  });

  it('shows the failure of any query, not only the first', () => {
    const lost = failed('lost jobs: HTTP 502');
    expect(combineQueries([done, done, lost])).toEqual({ isPending: false, error: lost.error });
    // A failure is shown at once, even while others still load.
    expect(combineQueries([waiting, lost])).toEqual({ isPending: false, error: lost.error });
    const timedOut = failed('timed out jobs');
    expect(combineQueries([done, timedOut, lost]).error).toBe(timedOut.error);
  });
});
