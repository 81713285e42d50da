import type { JobStatus } from '@/lib/api-types';

export type JobListParams = { script_id?: number; status?: JobStatus; limit?: number };

/** TanStack Query keys of jobs: every list refetches when any job changes. */
export const jobKeys = {
  all: ['jobs'] as const,
  lists: () => ['jobs', 'list'] as const,
  list: (params: JobListParams) => ['jobs', 'list', params] as const,
  details: () => ['jobs', 'detail'] as const,
  detail: (id: number) => ['jobs', 'detail', id] as const,
};
