import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Image, ImageUpdate } from '@/lib/api-types';

import { imageKeys } from './keys';

export function updateImage(id: number, body: ImageUpdate): Promise<Image> {
  return unwrap(
    client.PATCH('/api/images/{image_id}', { params: { path: { image_id: id } }, body }),
  );
}

export function useUpdateImage(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ImageUpdate) => updateImage(id, body),
    onSuccess: (image) => {
      queryClient.setQueryData(imageKeys.detail(id), image);
      void queryClient.invalidateQueries({ queryKey: imageKeys.lists() });
    },
  });
}
