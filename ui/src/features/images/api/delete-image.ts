import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';

import { imageKeys } from './keys';

export function deleteImage(id: number): Promise<void> {
  return unwrap(client.DELETE('/api/images/{image_id}', { params: { path: { image_id: id } } }));
}

export function useDeleteImage({ onSuccess }: { onSuccess?: () => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteImage,
    onSuccess: (_, id) => {
      queryClient.removeQueries({ queryKey: imageKeys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: imageKeys.lists() });
      onSuccess?.();
    },
  });
}
