import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';

import { imageKeys } from './keys';

/** Queues a build (202): the image is `building` until a worker reports. */
export function buildImage(id: number): Promise<Image> {
  return unwrap(
    client.POST('/api/images/{image_id}/build', { params: { path: { image_id: id } } }),
  );
}

export function useBuildImage(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => buildImage(id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: imageKeys.all }),
  });
}
