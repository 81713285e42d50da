import {
  infiniteQueryOptions,
  queryOptions,
  useInfiniteQuery,
  useQuery,
} from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { JobPage } from '@/lib/api-types';

import { jobKeys, type JobListParams } from './keys';

/** Jobs, newest first; `cursor` is the `next_cursor` of the page before. */
export function getJobs(params: JobListParams & { cursor?: number }): Promise<JobPage> {
  return unwrap(client.GET('/api/jobs', { params: { query: params } }));
}

/** One page: for the dashboard's short lists. */
export const jobsQueryOptions = (params: JobListParams) =>
  queryOptions({ queryKey: jobKeys.list(params), queryFn: () => getJobs(params) });

export const useJobs = (params: JobListParams) => useQuery(jobsQueryOptions(params));

/** Every page, on demand ("Load more"): for the job history. */
export const jobHistoryQueryOptions = (params: JobListParams) =>
  infiniteQueryOptions({
    queryKey: [...jobKeys.list(params), 'pages'] as const,
    queryFn: ({ pageParam }) => getJobs({ ...params, cursor: pageParam ?? undefined }),
    initialPageParam: null as number | null,
    getNextPageParam: (page) => page.next_cursor,
  });

export const useJobHistory = (params: JobListParams) =>
  useInfiniteQuery(jobHistoryQueryOptions(params));
