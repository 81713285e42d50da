import { useMutation, useQueryClient } from '@tanstack/react-query';

import { writeRawFile } from '@/lib/api-client';

import { imageFileUrl } from './get-image-file';
import { imageKeys } from './keys';

export function saveImageFile(id: number, path: string, content: string): Promise<void> {
  return writeRawFile(imageFileUrl(id, path), content);
}

export function useSaveImageFile(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ path, content }: { path: string; content: string }) =>
      saveImageFile(id, path, content),
    onSuccess: (_, { path, content }) => {
      queryClient.setQueryData(imageKeys.file(id, path), new TextEncoder().encode(content));
      void queryClient.invalidateQueries({ queryKey: imageKeys.detail(id) });
    },
  });
}
