import { describe, expect, it } from 'vitest';

import type { Schedule } from '@/lib/api-types';

import { soonest } from '../api/get-upcoming-runs';
import { MISFIRE_POLICIES, misfireLabel, OVERLAP_POLICIES, overlapLabel } from '../utils/policies';

const schedule = (id: number, next: string | null, enabled = true): Schedule => ({
  id,
  script_id: id * 10,
  cron: '* * * * *',
  timezone: 'UTC',
  enabled,
  misfire_policy: 'skip',
  overlap_policy: 'allow',
  args: null,
  env: {},
  next_run_at: next,
  next_runs: [],
  description: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
});

describe('soonest', () => {
  it('orders enabled schedules by their next run, naming their scripts', () => {
    const runs = soonest(
      [
        schedule(1, '2026-01-01T10:00:00Z'),
        schedule(2, '2026-01-01T09:00:00+00:00'),
        schedule(3, null),
        schedule(4, '2026-01-01T08:00:00Z', false),
      ],
      new Map([[10, 'first']]),
      5,
    );
    expect(runs.map((run) => [run.schedule.id, run.scriptName])).toEqual([
      [2, 'script 20'],
      [1, 'first'],
    ]);
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
