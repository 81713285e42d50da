import { Link } from 'react-router';

import { RelativeTime } from '@/components/ui/time';
import type { Job } from '@/lib/api-types';
import { formatDuration } from '@/lib/format';

import { JobStatusBadge } from './job-status-badge';

type JobsTableProps = {
  jobs: Job[];
  /** Script names by id; a column of them when given. */
  scriptNames?: Map<number, string>;
  caption: string;
  testId?: string;
  /** Job, script, status and creation only: for a half-width card (the dashboard's),
   * where seven columns overflow. */
  compact?: boolean;
};

/** Jobs as a table that turns into cards on a narrow screen (see .table--stack). */
export function JobsTable({ jobs, scriptNames, caption, testId, compact = false }: JobsTableProps) {
  return (
    <table className="table table--stack" data-testid={testId}>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Job</th>
          {scriptNames && <th scope="col">Script</th>}
          <th scope="col">Status</th>
          {!compact && <th scope="col">Trigger</th>}
          <th scope="col">Created</th>
          {!compact && <th scope="col">Duration</th>}
          {!compact && <th scope="col">Exit</th>}
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => (
          <tr key={job.id} data-testid={`job-row-${job.id}`}>
            <td data-label="Job">
              <Link to={`/jobs/${job.id}`}>#{job.id}</Link>
              <span className="muted"> · rev {job.revision}</span>
            </td>
            {scriptNames && (
              <td data-label="Script">
                <Link to={`/scripts/${job.script_id}`}>
                  {scriptNames.get(job.script_id) ?? `script ${job.script_id}`}
                </Link>
              </td>
            )}
            <td data-label="Status">
              <JobStatusBadge status={job.status} testId={`job-status-${job.id}`} />
            </td>
            {!compact && <td data-label="Trigger">{job.trigger}</td>}
            <td data-label="Created">
              <RelativeTime iso={job.created_at} />
            </td>
            {!compact && <td data-label="Duration">{formatDuration(job.duration_seconds)}</td>}
            {!compact && <td data-label="Exit">{job.exit_code ?? '—'}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
