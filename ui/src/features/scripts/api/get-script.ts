import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Script } from '@/lib/api-types';

import { scriptKeys } from './keys';

export function getScript(id: number): Promise<Script> {
  return unwrap(client.GET('/api/scripts/{script_id}', { params: { path: { script_id: id } } }));
}

export const scriptQueryOptions = (id: number) =>
  queryOptions({ queryKey: scriptKeys.detail(id), queryFn: () => getScript(id) });

export const useScript = (id: number) => useQuery(scriptQueryOptions(id));
