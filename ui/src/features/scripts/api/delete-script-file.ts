import { useMutation, useQueryClient } from '@tanstack/react-query';

import { deleteRawFile } from '@/lib/api-client';

import { scriptFileUrl } from './get-script-file';
import { scriptKeys } from './keys';

export function deleteScriptFile(id: number, path: string): Promise<void> {
  return deleteRawFile(scriptFileUrl(id, path));
}

export function useDeleteScriptFile(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (path: string) => deleteScriptFile(id, path),
    onSuccess: (_, path) => {
      queryClient.removeQueries({ queryKey: scriptKeys.file(id, path) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.revisions(id) });
    },
  });
}
