import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { ImagePage } from '@/lib/api-types';

import { imageKeys, type ImageListParams } from './keys';

export function getImages(
  params: ImageListParams & { cursor?: number; limit?: number },
): Promise<ImagePage> {
  return unwrap(client.GET('/api/images', { params: { query: params } }));
}

export const imagesQueryOptions = (params: ImageListParams = {}) =>
  infiniteQueryOptions({
    queryKey: imageKeys.list(params),
    queryFn: ({ pageParam }) => getImages({ ...params, cursor: pageParam ?? undefined, limit: 50 }),
    initialPageParam: null as number | null,
    getNextPageParam: (page) => page.next_cursor,
  });

export const useImages = (params: ImageListParams = {}) =>
  useInfiniteQuery(imagesQueryOptions(params));
