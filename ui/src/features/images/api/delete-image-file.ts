import { useMutation, useQueryClient } from '@tanstack/react-query';

import { deleteRawFile } from '@/lib/api-client';

import { imageFileUrl } from './get-image-file';
import { imageKeys } from './keys';

export function deleteImageFile(id: number, path: string): Promise<void> {
  return deleteRawFile(imageFileUrl(id, path));
}

export function useDeleteImageFile(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (path: string) => deleteImageFile(id, path),
    onSuccess: (_, path) => {
      queryClient.removeQueries({ queryKey: imageKeys.file(id, path) });
      void queryClient.invalidateQueries({ queryKey: imageKeys.detail(id) });
    },
  });
}
