import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { UpcomingScheduledRun } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/**
 * The next runs of enabled schedules across all scripts, soonest first, with the
 * scripts' names: one request, however many scripts there are.
 */
export function getUpcomingRuns(count = 8): Promise<UpcomingScheduledRun[]> {
  return unwrap(client.GET('/api/schedules/upcoming', { params: { query: { limit: count } } }));
}

export const upcomingRunsQueryOptions = (count = 8) =>
  queryOptions({
    queryKey: [...scheduleKeys.upcoming(), count] as const,
    queryFn: () => getUpcomingRuns(count),
    // Next run times move on with the clock, events or not.
    refetchInterval: 60_000,
  });

export const useUpcomingRuns = (count = 8) => useQuery(upcomingRunsQueryOptions(count));
