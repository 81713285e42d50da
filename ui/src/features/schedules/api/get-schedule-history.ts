import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { FiringPage } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/** Each fire time of the schedule, newest first: fired (with its job) or skipped (with the reason). */
export function getScheduleHistory(id: number, limit = 50): Promise<FiringPage> {
  return unwrap(
    client.GET('/api/schedules/{schedule_id}/history', {
      params: { path: { schedule_id: id }, query: { limit } },
    }),
  );
}

export const scheduleHistoryQueryOptions = (id: number) =>
  queryOptions({ queryKey: scheduleKeys.history(id), queryFn: () => getScheduleHistory(id) });

export const useScheduleHistory = (id: number, enabled: boolean) =>
  useQuery({ ...scheduleHistoryQueryOptions(id), enabled });
