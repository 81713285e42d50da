import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Image, ImageCreate } from '@/lib/api-types';

import { imageKeys } from './keys';

export function createImage(body: ImageCreate): Promise<Image> {
  return unwrap(client.POST('/api/images', { body }));
}

export function useCreateImage({ onSuccess }: { onSuccess?: (image: Image) => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createImage,
    onSuccess: (image) => {
      void queryClient.invalidateQueries({ queryKey: imageKeys.lists() });
      onSuccess?.(image);
    },
  });
}
