import { useParams } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { Alert } from '@/components/ui/alert';
import { Loading } from '@/components/ui/loading';
import { useJob } from '@/features/jobs/api/get-job';
import { CancelJobButton, JobFacts, jobOutcome } from '@/features/jobs/components/job-details';
import { JobLog } from '@/features/jobs/components/job-log';
import { JobStatusBadge } from '@/features/jobs/components/job-status-badge';
import { useScript } from '@/features/scripts/api/get-script';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { parseId } from '@/hooks/use-tab';
import { ApiError } from '@/lib/api-client';
import type { Job } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { NotFound } from './not-found';

function JobPage({ job }: { job: Job }) {
  const script = useScript(job.script_id);
  const name = script.data?.name;
  useDocumentTitle(`Job #${job.id}${name ? ` of ${name}` : ''}`);
  const outcome = jobOutcome(job);
  return (
    <>
      <PageHeader
        title={`Job #${job.id}`}
        parent={{
          to: `/scripts/${job.script_id}?tab=jobs`,
          label: name ?? `Script ${job.script_id}`,
        }}
        meta={<JobStatusBadge status={job.status} testId="job-status" />}
        actions={<CancelJobButton job={job} />}
      />
      {outcome && (
        <Alert
          tone={
            job.status === 'failed' ||
            job.status === 'timed_out' ||
            job.status === 'lost' ||
            job.oom_killed
              ? 'error'
              : 'info'
          }
          testId="job-outcome"
        >
          {outcome}
        </Alert>
      )}
      {job.log_truncated && (
        <Alert tone="warning">
          The output reached the script’s log limit; the rest was not kept.
        </Alert>
      )}
      <div className="job-layout">
        <JobFacts job={job} scriptName={name} />
        <JobLog job={job} />
      </div>
    </>
  );
}

export function JobRoute() {
  const id = parseId(useParams().jobId);
  const query = useJob(id ?? 0);
  if (id === null) return <NotFound what="This job" />;
  if (query.isPending) return <Loading label="Loading the job…" />;
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404)
      return <NotFound what={`Job ${id}`} />;
    return <Alert>Could not load the job: {describeError(query.error)}</Alert>;
  }
  return <JobPage job={query.data} />;
}
