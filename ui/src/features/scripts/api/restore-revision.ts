import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Script } from '@/lib/api-types';

import { scriptKeys } from './keys';

/** Makes a revision's files and settings current again, as a new revision. */
export function restoreRevision(scriptId: number, number: number): Promise<Script> {
  return unwrap(
    client.POST('/api/scripts/{script_id}/revisions/{number}/restore', {
      params: { path: { script_id: scriptId, number } },
    }),
  );
}

export function useRestoreRevision(scriptId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (number: number) => restoreRevision(scriptId, number),
    onSuccess: (script) => {
      queryClient.setQueryData(scriptKeys.detail(scriptId), script);
      // Every file may have changed.
      queryClient.removeQueries({ queryKey: scriptKeys.files(scriptId) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.revisions(scriptId) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.lists() });
    },
  });
}
