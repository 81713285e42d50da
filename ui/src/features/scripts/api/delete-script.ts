import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';

import { scriptKeys } from './keys';

export function deleteScript(id: number): Promise<void> {
  return unwrap(client.DELETE('/api/scripts/{script_id}', { params: { path: { script_id: id } } }));
}

export function useDeleteScript({ onSuccess }: { onSuccess?: () => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteScript,
    onSuccess: (_, id) => {
      queryClient.removeQueries({ queryKey: scriptKeys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.lists() });
      onSuccess?.();
    },
  });
}
