import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Script, ScriptUpdate } from '@/lib/api-types';

import { scriptKeys } from './keys';

/** Changes settings; a change of a run setting makes a new revision. */
export function updateScript(id: number, body: ScriptUpdate): Promise<Script> {
  return unwrap(
    client.PATCH('/api/scripts/{script_id}', { params: { path: { script_id: id } }, body }),
  );
}

export function useUpdateScript(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ScriptUpdate) => updateScript(id, body),
    onSuccess: (script) => {
      queryClient.setQueryData(scriptKeys.detail(id), script);
      void queryClient.invalidateQueries({ queryKey: scriptKeys.lists() });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.revisions(id) });
    },
  });
}
