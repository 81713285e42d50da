import { queryOptions, useQuery } from '@tanstack/react-query';

import { filePath, readRawFile } from '@/lib/api-client';

import { imageKeys } from './keys';

export const imageFileUrl = (id: number, path: string) => filePath(`/api/images/${id}`, path);

export function getImageFile(id: number, path: string): Promise<Uint8Array> {
  return readRawFile(imageFileUrl(id, path));
}

export const imageFileQueryOptions = (id: number, path: string) =>
  queryOptions({
    queryKey: imageKeys.file(id, path),
    queryFn: () => getImageFile(id, path),
    // Only this page changes a file: no background refetch under the editor.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });

export const useImageFile = (id: number, path: string | null) =>
  useQuery({ ...imageFileQueryOptions(id, path ?? ''), enabled: path !== null });
