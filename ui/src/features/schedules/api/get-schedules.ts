import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Schedule } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/** The script's schedules, oldest first. */
export function getSchedules(scriptId: number): Promise<Schedule[]> {
  return unwrap(
    client.GET('/api/scripts/{script_id}/schedules', { params: { path: { script_id: scriptId } } }),
  );
}

export const schedulesQueryOptions = (scriptId: number) =>
  queryOptions({
    queryKey: scheduleKeys.byScript(scriptId),
    queryFn: () => getSchedules(scriptId),
  });

export const useSchedules = (scriptId: number) => useQuery(schedulesQueryOptions(scriptId));
