import { Badge, type BadgeTone } from '@/components/ui/badge';
import type { JobStatus } from '@/lib/api-types';

export const JOB_STATUS_TONE: Record<JobStatus, BadgeTone> = {
  queued: 'warning',
  running: 'info',
  succeeded: 'success',
  failed: 'danger',
  timed_out: 'danger',
  cancelled: 'neutral',
  lost: 'danger',
};

export const JOB_STATUS_LABEL: Record<JobStatus, string> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed out',
  cancelled: 'cancelled',
  lost: 'lost',
};

export const isJobActive = (status: JobStatus) => status === 'queued' || status === 'running';

export function JobStatusBadge({ status, testId }: { status: JobStatus; testId?: string }) {
  return (
    <Badge tone={JOB_STATUS_TONE[status]} testId={testId}>
      {JOB_STATUS_LABEL[status]}
    </Badge>
  );
}
