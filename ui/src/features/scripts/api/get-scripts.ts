import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { ScriptPage } from '@/lib/api-types';

import { scriptKeys, type ScriptListParams } from './keys';

export function getScripts(
  params: ScriptListParams & { cursor?: number; limit?: number },
): Promise<ScriptPage> {
  return unwrap(client.GET('/api/scripts', { params: { query: params } }));
}

export const scriptsQueryOptions = (params: ScriptListParams = {}) =>
  infiniteQueryOptions({
    queryKey: scriptKeys.list(params),
    queryFn: ({ pageParam }) =>
      getScripts({ ...params, cursor: pageParam ?? undefined, limit: 50 }),
    initialPageParam: null as number | null,
    getNextPageParam: (page) => page.next_cursor,
  });

export const useScripts = (params: ScriptListParams = {}) =>
  useInfiniteQuery(scriptsQueryOptions(params));
