import { queryOptions, useQuery } from '@tanstack/react-query';

import { filePath, readRawFile } from '@/lib/api-client';

import { scriptKeys } from './keys';

export const scriptFileUrl = (id: number, path: string) => filePath(`/api/scripts/${id}`, path);

export function getScriptFile(id: number, path: string): Promise<Uint8Array> {
  return readRawFile(scriptFileUrl(id, path));
}

export const scriptFileQueryOptions = (id: number, path: string) =>
  queryOptions({
    queryKey: scriptKeys.file(id, path),
    queryFn: () => getScriptFile(id, path),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });

export const useScriptFile = (id: number, path: string | null) =>
  useQuery({ ...scriptFileQueryOptions(id, path ?? ''), enabled: path !== null });
