import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Job } from '@/lib/api-types';

import { jobKeys } from './keys';

export type RunInput = { args?: string[]; env?: Record<string, string> };

/** Queues a job of the script's current revision (the browser is a manual trigger). */
export function runScript(scriptId: number, input: RunInput): Promise<Job> {
  return unwrap(
    client.POST('/api/scripts/{script_id}/runs', {
      params: { path: { script_id: scriptId } },
      body: { ...input, trigger: 'manual' },
    }),
  );
}

export function useRunScript(
  scriptId: number,
  { onSuccess }: { onSuccess?: (job: Job) => void } = {},
) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: RunInput) => runScript(scriptId, input),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKeys.detail(job.id), job);
      void queryClient.invalidateQueries({ queryKey: jobKeys.lists() });
      onSuccess?.(job);
    },
  });
}
