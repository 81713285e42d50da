import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { Job } from '@/lib/api-types';

import { jobKeys } from './keys';

export function getJob(id: number): Promise<Job> {
  return unwrap(client.GET('/api/jobs/{job_id}', { params: { path: { job_id: id } } }));
}

export const jobQueryOptions = (id: number) =>
  queryOptions({ queryKey: jobKeys.detail(id), queryFn: () => getJob(id) });

export const useJob = (id: number) => useQuery(jobQueryOptions(id));
