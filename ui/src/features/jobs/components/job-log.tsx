import { useQueryClient } from '@tanstack/react-query';

import { useLog } from '@/features/logs/api/use-log';
import { LogViewer } from '@/features/logs/components/log-viewer';
import type { Job } from '@/lib/api-types';

import { jobKeys } from '../api/keys';

import { isJobActive } from './job-status-badge';

/** The job's output, live while it is queued or running. */
export function JobLog({ job }: { job: Job }) {
  const queryClient = useQueryClient();
  const log = useLog(
    { logUrl: `/api/jobs/${job.id}/log`, streamUrl: `/api/jobs/${job.id}/log/stream` },
    isJobActive(job.status),
    () => void queryClient.invalidateQueries({ queryKey: jobKeys.detail(job.id) }),
  );
  return (
    <LogViewer
      {...log}
      onLoadEarlier={() => void log.loadEarlier()}
      downloadHref={job.log_path ? `/api/jobs/${job.id}/log?download=true` : undefined}
      emptyText={
        job.status === 'queued'
          ? 'Waiting for the job to start…'
          : isJobActive(job.status)
            ? 'No output yet.'
            : 'The job wrote no output.'
      }
      label="job output"
      testId="job-log"
    />
  );
}
