import { useState } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Empty } from '@/components/ui/empty';
import { Loading } from '@/components/ui/loading';
import type { JobStatus } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { useJobHistory } from '../api/get-jobs';

import { JOB_STATUS_LABEL } from './job-status-badge';
import { JobsTable } from './jobs-table';

const STATUSES = Object.keys(JOB_STATUS_LABEL) as JobStatus[];

type JobHistoryProps = {
  scriptId?: number;
  scriptNames?: Map<number, string>;
};

/** Jobs newest first, filtered by status, a page at a time. */
export function JobHistory({ scriptId, scriptNames }: JobHistoryProps) {
  const [status, setStatus] = useState<JobStatus | ''>('');
  const query = useJobHistory({ script_id: scriptId, status: status || undefined, limit: 50 });
  const jobs = query.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <div className="stack">
      <div className="toolbar">
        <label className="inline-field">
          <span>Status</span>
          <select
            className="input"
            value={status}
            onChange={(event) => setStatus(event.target.value as JobStatus | '')}
          >
            <option value="">any</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {JOB_STATUS_LABEL[value]}
              </option>
            ))}
          </select>
        </label>
      </div>
      {query.isPending ? (
        <Loading label="Loading jobs…" />
      ) : query.isError ? (
        <Alert>Could not load the jobs: {describeError(query.error)}</Alert>
      ) : jobs.length === 0 ? (
        <Empty testId="jobs-empty">
          No jobs{status ? ` with status ${JOB_STATUS_LABEL[status]}` : ''} yet.
        </Empty>
      ) : (
        <JobsTable jobs={jobs} scriptNames={scriptNames} caption="Jobs" testId="jobs-table" />
      )}
      {query.hasNextPage && (
        <Button onClick={() => void query.fetchNextPage()} busy={query.isFetchingNextPage}>
          Load more
        </Button>
      )}
    </div>
  );
}
