import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { ImageDefaults } from '@/lib/api-types';

import { imageKeys } from './keys';

/** The Dockerfile (with the server's configured base image) and requirements.txt a new image gets. */
export function getImageDefaults(): Promise<ImageDefaults> {
  return unwrap(client.GET('/api/images/defaults'));
}

export const imageDefaultsQueryOptions = () =>
  queryOptions({
    queryKey: [...imageKeys.all, 'defaults'] as const,
    queryFn: getImageDefaults,
    // They come from the server's configuration: they change only with a restart.
    staleTime: Infinity,
  });

export const useImageDefaults = () => useQuery(imageDefaultsQueryOptions());
