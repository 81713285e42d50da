import { queryOptions, useQuery } from '@tanstack/react-query';

import { getScripts } from '@/features/scripts/api/get-scripts';
import { isMissingEndpoint } from '@/lib/api-client';
import type { Schedule } from '@/lib/api-types';

import { getSchedules } from './get-schedules';
import { scheduleKeys } from './keys';

export type UpcomingRun = { schedule: Schedule; scriptName: string; at: string };

/** The soonest `next_run_at` of enabled schedules, soonest first. */
export function soonest(
  schedules: Schedule[],
  names: Map<number, string>,
  count: number,
): UpcomingRun[] {
  return schedules
    .filter((schedule) => schedule.enabled && schedule.next_run_at)
    .map((schedule) => ({
      schedule,
      scriptName: names.get(schedule.script_id) ?? `script ${schedule.script_id}`,
      at: schedule.next_run_at as string,
    }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(0, count);
}

/**
 * The next scheduled runs across scripts, for the dashboard. The API lists
 * schedules per script only, so this asks for those of the newest 50 scripts
 * (an API-wide list would make this one request; see the UI README).
 */
export async function getUpcomingRuns(count = 8): Promise<UpcomingRun[]> {
  const scripts = (await getScripts({ limit: 50 })).items;
  const names = new Map(scripts.map((script) => [script.id, script.name]));
  const lists = await Promise.all(scripts.map((script) => getSchedules(script.id)));
  return soonest(lists.flat(), names, count);
}

export const upcomingRunsQueryOptions = (count = 8) =>
  queryOptions({
    queryKey: [...scheduleKeys.upcoming(), count] as const,
    queryFn: () => getUpcomingRuns(count),
    retry: (failures, error) => !isMissingEndpoint(error) && failures < 1,
    // Next run times move on with the clock, events or not.
    refetchInterval: 60_000,
  });

export const useUpcomingRuns = (count = 8) => useQuery(upcomingRunsQueryOptions(count));
