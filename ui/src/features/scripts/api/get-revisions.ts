import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { RevisionSummary } from '@/lib/api-types';

import { scriptKeys } from './keys';

/** The script's revisions, newest first. */
export function getRevisions(scriptId: number): Promise<RevisionSummary[]> {
  return unwrap(
    client.GET('/api/scripts/{script_id}/revisions', { params: { path: { script_id: scriptId } } }),
  );
}

export const revisionsQueryOptions = (scriptId: number) =>
  queryOptions({ queryKey: scriptKeys.revisions(scriptId), queryFn: () => getRevisions(scriptId) });

export const useRevisions = (scriptId: number) => useQuery(revisionsQueryOptions(scriptId));
