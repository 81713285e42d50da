import { queryOptions, useQuery } from '@tanstack/react-query';

import type { Image } from '@/lib/api-types';

import { getImages } from './get-images';
import { imageKeys } from './keys';

/** The newest 200 images: for choosing a script's image and naming it in lists. */
export async function getImageChoices(): Promise<Image[]> {
  return (await getImages({ limit: 200 })).items;
}

export const imageChoicesQueryOptions = () =>
  queryOptions({ queryKey: [...imageKeys.lists(), 'choices'] as const, queryFn: getImageChoices });

export const useImageChoices = () => useQuery(imageChoicesQueryOptions());
