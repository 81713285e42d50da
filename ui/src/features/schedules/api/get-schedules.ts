import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, isMissingEndpoint, unwrap } from '@/lib/api-client';
import type { Schedule } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/** The script's schedules. A server without schedules answers 404: see `isMissingEndpoint`. */
export function getSchedules(scriptId: number): Promise<Schedule[]> {
  return unwrap(
    client.GET('/api/scripts/{script_id}/schedules', { params: { path: { script_id: scriptId } } }),
  );
}

export const schedulesQueryOptions = (scriptId: number) =>
  queryOptions({
    queryKey: scheduleKeys.byScript(scriptId),
    queryFn: () => getSchedules(scriptId),
    retry: (count, error) => !isMissingEndpoint(error) && count < 1,
  });

export const useSchedules = (scriptId: number) => useQuery(schedulesQueryOptions(scriptId));
