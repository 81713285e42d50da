import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';

import { imageKeys } from './keys';

export function getImage(id: number): Promise<Image> {
  return unwrap(client.GET('/api/images/{image_id}', { params: { path: { image_id: id } } }));
}

export const imageQueryOptions = (id: number) =>
  queryOptions({ queryKey: imageKeys.detail(id), queryFn: () => getImage(id) });

export const useImage = (id: number) => useQuery(imageQueryOptions(id));
