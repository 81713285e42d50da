import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';

import { scheduleKeys } from './keys';

/** Deletes the schedule and its history; the jobs it started stay. */
export function deleteSchedule(id: number): Promise<void> {
  return unwrap(
    client.DELETE('/api/schedules/{schedule_id}', { params: { path: { schedule_id: id } } }),
  );
}

export function useDeleteSchedule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteSchedule,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: scheduleKeys.all }),
  });
}
