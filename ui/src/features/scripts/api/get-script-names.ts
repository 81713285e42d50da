import { queryOptions, useQuery } from '@tanstack/react-query';

import { getScripts } from './get-scripts';
import { scriptKeys } from './keys';

/** Names of the newest 200 scripts by id: the job lists name the script of each job. */
export async function getScriptNames(): Promise<Map<number, string>> {
  const page = await getScripts({ limit: 200 });
  return new Map(page.items.map((script) => [script.id, script.name]));
}

export const scriptNamesQueryOptions = () =>
  queryOptions({
    queryKey: [...scriptKeys.lists(), 'names'] as const,
    queryFn: getScriptNames,
    staleTime: 30_000,
  });

export const useScriptNames = () => useQuery(scriptNamesQueryOptions());
