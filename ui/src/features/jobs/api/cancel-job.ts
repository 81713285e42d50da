import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Job } from '@/lib/api-types';

import { jobKeys } from './keys';

/** A queued job never starts; a running one is stopped (202: it ends a moment later). */
export function cancelJob(id: number): Promise<Job> {
  return unwrap(client.POST('/api/jobs/{job_id}/cancel', { params: { path: { job_id: id } } }));
}

export function useCancelJob(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => cancelJob(id),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKeys.detail(id), job);
      void queryClient.invalidateQueries({ queryKey: jobKeys.lists() });
    },
  });
}
