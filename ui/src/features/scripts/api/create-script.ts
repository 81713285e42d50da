import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Script, ScriptCreate } from '@/lib/api-types';

import { scriptKeys } from './keys';

export function createScript(body: ScriptCreate): Promise<Script> {
  return unwrap(client.POST('/api/scripts', { body }));
}

export function useCreateScript({ onSuccess }: { onSuccess?: (script: Script) => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createScript,
    onSuccess: (script) => {
      void queryClient.invalidateQueries({ queryKey: scriptKeys.lists() });
      onSuccess?.(script);
    },
  });
}
