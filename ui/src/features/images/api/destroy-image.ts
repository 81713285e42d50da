import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';

import { imageKeys } from './keys';

/** Removes the Docker image and keeps the definition (back to `dormant`). */
export function destroyImage(id: number): Promise<Image> {
  return unwrap(
    client.POST('/api/images/{image_id}/destroy', { params: { path: { image_id: id } } }),
  );
}

export function useDestroyImage(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => destroyImage(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: imageKeys.all }),
  });
}
