import { useMutation, useQueryClient } from '@tanstack/react-query';

import { writeRawFile } from '@/lib/api-client';

import { scriptFileUrl } from './get-script-file';
import { scriptKeys } from './keys';

/** Creates or replaces a file: a new revision of the script. */
export function saveScriptFile(id: number, path: string, content: string): Promise<void> {
  return writeRawFile(scriptFileUrl(id, path), content);
}

export function useSaveScriptFile(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ path, content }: { path: string; content: string }) =>
      saveScriptFile(id, path, content),
    onSuccess: (_, { path, content }) => {
      queryClient.setQueryData(scriptKeys.file(id, path), new TextEncoder().encode(content));
      void queryClient.invalidateQueries({ queryKey: scriptKeys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: scriptKeys.revisions(id) });
    },
  });
}
