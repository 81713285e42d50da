import { Link } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { Alert } from '@/components/ui/alert';
import { Card } from '@/components/ui/card';
import { Empty } from '@/components/ui/empty';
import { Loading } from '@/components/ui/loading';
import { RelativeTime } from '@/components/ui/time';
import { HealthStatus } from '@/features/health/components/health-status';
import { useJobs } from '@/features/jobs/api/get-jobs';
import { JobsTable } from '@/features/jobs/components/jobs-table';
import { failuresOfLastDay } from '@/features/jobs/utils/failures';
import { useUpcomingRuns } from '@/features/schedules/api/get-upcoming-runs';
import { useScriptNames } from '@/features/scripts/api/get-script-names';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { formatDateTime } from '@/lib/format';
import { describeError } from '@/lib/problems';
import { combineQueries } from '@/lib/queries';

function RunningNow({ names }: { names: Map<number, string> }) {
  const running = useJobs({ status: 'running', limit: 50 });
  const queued = useJobs({ status: 'queued', limit: 50 });
  const jobs = [...(running.data?.items ?? []), ...(queued.data?.items ?? [])];
  const status = combineQueries([running, queued]);
  return (
    <Card
      title="Running now"
      aside={<span className="muted">{jobs.length || ''}</span>}
      testId="running-now"
    >
      {status.error ? (
        <Alert>{describeError(status.error)}</Alert>
      ) : status.isPending ? (
        <Loading />
      ) : jobs.length === 0 ? (
        <Empty>Nothing is running.</Empty>
      ) : (
        <JobsTable jobs={jobs} scriptNames={names} caption="Running and queued jobs" compact />
      )}
    </Card>
  );
}

function Failures({ names }: { names: Map<number, string> }) {
  const failed = useJobs({ status: 'failed', limit: 100 });
  const timedOut = useJobs({ status: 'timed_out', limit: 100 });
  const lost = useJobs({ status: 'lost', limit: 100 });
  const jobs = failuresOfLastDay([
    ...(failed.data?.items ?? []),
    ...(timedOut.data?.items ?? []),
    ...(lost.data?.items ?? []),
  ]);
  const status = combineQueries([failed, timedOut, lost]);
  return (
    <Card
      title="Failures, last 24 h"
      aside={<span className="muted">{jobs.length || ''}</span>}
      testId="failures"
    >
      {status.error ? (
        <Alert>{describeError(status.error)}</Alert>
      ) : status.isPending ? (
        <Loading />
      ) : jobs.length === 0 ? (
        <Empty>No failures in the last 24 hours.</Empty>
      ) : (
        <JobsTable
          jobs={jobs.slice(0, 10)}
          scriptNames={names}
          caption="Failed jobs of the last 24 hours"
          compact
        />
      )}
    </Card>
  );
}

function NextRuns() {
  const upcoming = useUpcomingRuns();
  return (
    <Card title="Next scheduled runs" testId="next-runs">
      {upcoming.isPending ? (
        <Loading />
      ) : upcoming.isError ? (
        <Alert>{describeError(upcoming.error)}</Alert>
      ) : upcoming.data.length === 0 ? (
        <Empty>No schedule is due. Add one on a script’s Schedules tab.</Empty>
      ) : (
        <ul className="list">
          {upcoming.data.map((run) => (
            <li key={run.schedule_id} className="list__item">
              <Link to={`/scripts/${run.script_id}?tab=schedules`}>{run.script_name}</Link>
              <code className="muted" title={run.timezone}>
                {run.cron}
              </code>
              <span title={formatDateTime(run.next_run_at)}>
                <RelativeTime iso={run.next_run_at} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function RecentJobs({ names }: { names: Map<number, string> }) {
  const recent = useJobs({ limit: 10 });
  return (
    <Card title="Recent jobs" aside={<Link to="/jobs">All jobs</Link>} testId="recent-jobs">
      {recent.isPending ? (
        <Loading />
      ) : recent.isError ? (
        <Alert>{describeError(recent.error)}</Alert>
      ) : recent.data.items.length === 0 ? (
        <Empty>
          No jobs yet. <Link to="/scripts">Run a script</Link>.
        </Empty>
      ) : (
        <JobsTable jobs={recent.data.items} scriptNames={names} caption="Recent jobs" />
      )}
    </Card>
  );
}

export function DashboardRoute() {
  useDocumentTitle(null);
  const names = useScriptNames().data ?? new Map<number, string>();
  return (
    <>
      <PageHeader
        title="Dashboard"
        description="Run Python scripts in Docker, now or on a schedule."
      />
      <div className="dashboard">
        <RunningNow names={names} />
        <Failures names={names} />
        <NextRuns />
        <HealthStatus />
        <div className="dashboard__wide">
          <RecentJobs names={names} />
        </div>
      </div>
    </>
  );
}
