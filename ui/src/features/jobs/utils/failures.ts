import type { Job } from '@/lib/api-types';

const DAY_MS = 24 * 3600 * 1000;
const FAILED = new Set(['failed', 'timed_out', 'lost']);

/** Jobs that failed (failed, timed out, lost) in the 24 hours before `now`, newest first, once each. */
export function failuresOfLastDay(jobs: Job[], now: number = Date.now()): Job[] {
  const seen = new Set<number>();
  return jobs
    .filter((job) => {
      if (!FAILED.has(job.status) || seen.has(job.id)) return false;
      seen.add(job.id);
      const at = new Date(job.finished_at ?? job.created_at).getTime();
      return now - at <= DAY_MS;
    })
    .sort((a, b) => b.id - a.id);
}
