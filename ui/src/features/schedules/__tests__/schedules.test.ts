import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '@/lib/api-client';
import type { UpcomingScheduledRun } from '@/lib/api-types';

import { getUpcomingRuns } from '../api/get-upcoming-runs';
import { MISFIRE_POLICIES, misfireLabel, OVERLAP_POLICIES, overlapLabel } from '../utils/policies';

afterEach(() => {
  vi.unstubAllGlobals();
});

const run: UpcomingScheduledRun = {
  schedule_id: 3,
  script_id: 7,
  script_name: 'nightly',
  next_run_at: '2026-01-01T02:30:00Z',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
};

function respondWith(status: number, body: unknown) {
  const fetch = vi.fn(
    async () =>
      new Response(JSON.stringify(body), {
        status,
        headers: {
          'Content-Type': status < 400 ? 'application/json' : 'application/problem+json',
        },
      }),
  );
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

describe('getUpcomingRuns', () => {
  it('asks the server once for the next runs of all scripts', async () => {
    const fetch = respondWith(200, [run]);
    await expect(getUpcomingRuns(8)).resolves.toEqual([run]);
    expect(fetch).toHaveBeenCalledTimes(1);
    const url = new URL((fetch.mock.calls[0] as unknown as [Request])[0].url);
    expect(url.pathname).toBe('/api/schedules/upcoming');
    expect(url.searchParams.get('limit')).toBe('8');
  });

  it('fails with the problem the server answered', async () => {
    respondWith(422, { status: 422, title: 'x', detail: 'limit must be 1 to 100', field: 'limit' });
    const error = await getUpcomingRuns(500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problem?.field).toBe('limit');
  });
});

describe('policies', () => {
  it('explains every policy the API has', () => {
    expect(MISFIRE_POLICIES.map((policy) => policy.value)).toEqual(['skip', 'run_once']);
    expect(OVERLAP_POLICIES.map((policy) => policy.value)).toEqual(['allow', 'skip', 'replace']);
    for (const policy of [...MISFIRE_POLICIES, ...OVERLAP_POLICIES])
      expect(policy.explanation.length).toBeGreaterThan(40);
    expect(misfireLabel('run_once')).toBe('Run once after downtime');
    expect(overlapLabel('replace')).toBe('Replace');
  });
});
