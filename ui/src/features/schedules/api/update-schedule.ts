import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Schedule, ScheduleUpdate } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/** Only the fields given change; a new cron or timezone moves the next run. */
export function updateSchedule(id: number, body: ScheduleUpdate): Promise<Schedule> {
  return unwrap(
    client.PATCH('/api/schedules/{schedule_id}', { params: { path: { schedule_id: id } }, body }),
  );
}

export function useUpdateSchedule({ onSuccess }: { onSuccess?: () => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number; body: ScheduleUpdate }) => updateSchedule(id, body),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: scheduleKeys.all });
      onSuccess?.();
    },
  });
}
