import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Schedule, ScheduleCreate } from '@/lib/api-types';

import { scheduleKeys } from './keys';

export function createSchedule(scriptId: number, body: ScheduleCreate): Promise<Schedule> {
  return unwrap(
    client.POST('/api/scripts/{script_id}/schedules', {
      params: { path: { script_id: scriptId } },
      body,
    }),
  );
}

export function useCreateSchedule(
  scriptId: number,
  { onSuccess }: { onSuccess?: () => void } = {},
) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ScheduleCreate) => createSchedule(scriptId, body),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: scheduleKeys.all });
      onSuccess?.();
    },
  });
}
