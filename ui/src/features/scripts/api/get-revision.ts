import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Revision } from '@/lib/api-types';

import { scriptKeys } from './keys';

/** One revision with its files' contents and settings (secret values masked). */
export function getRevision(scriptId: number, number: number): Promise<Revision> {
  return unwrap(
    client.GET('/api/scripts/{script_id}/revisions/{number}', {
      params: { path: { script_id: scriptId, number } },
    }),
  );
}

export const revisionQueryOptions = (scriptId: number, number: number) =>
  queryOptions({
    queryKey: scriptKeys.revision(scriptId, number),
    queryFn: () => getRevision(scriptId, number),
    // A revision never changes.
    staleTime: Infinity,
  });

export const useRevision = (scriptId: number, number: number | null) =>
  useQuery({
    ...revisionQueryOptions(scriptId, number ?? 0),
    enabled: number !== null && number > 0,
  });
