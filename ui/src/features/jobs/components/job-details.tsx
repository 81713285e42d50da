import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';

import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import type { Job } from '@/lib/api-types';
import { formatDateTime, formatDuration } from '@/lib/format';
import { describeError } from '@/lib/problems';

import { useCancelJob } from '../api/cancel-job';

import { isJobActive } from './job-status-badge';

/** What ended the job, in words, when its status alone does not say. */
export function jobOutcome(job: Job): string | null {
  if (job.oom_killed)
    return 'The job ran out of memory and was killed (raise the memory limit in the settings).';
  if (job.status === 'timed_out') return 'The job ran longer than its timeout and was stopped.';
  if (job.status === 'lost') return 'The job’s container disappeared; its end is unknown.';
  if (job.cancel_requested && job.status !== 'cancelled') return 'Cancelling…';
  return job.error;
}

export function JobFacts({ job, scriptName }: { job: Job; scriptName?: string }) {
  const facts: Array<[string, ReactNode]> = [
    [
      'Script',
      <Link to={`/scripts/${job.script_id}`}>{scriptName ?? `script ${job.script_id}`}</Link>,
    ],
    ['Revision', <Link to={`/scripts/${job.script_id}?tab=revisions`}>{job.revision}</Link>],
    [
      'Trigger',
      job.trigger === 'schedule' && job.schedule_id !== null ? (
        <Link to={`/scripts/${job.script_id}?tab=schedules`}>schedule {job.schedule_id}</Link>
      ) : (
        job.trigger
      ),
    ],
    ['Exit code', <span data-testid="job-exit-code">{job.exit_code ?? '—'}</span>],
    ['Duration', <span data-testid="job-duration">{formatDuration(job.duration_seconds)}</span>],
    ['Created', formatDateTime(job.created_at)],
    ['Started', formatDateTime(job.started_at)],
    ['Finished', formatDateTime(job.finished_at)],
    [
      'Image',
      job.image_tag ? (
        <Link to={`/images/${job.image_id}`}>{job.image_tag}</Link>
      ) : (
        <Link to={`/images/${job.image_id}`}>image {job.image_id}</Link>
      ),
    ],
    [
      'Arguments',
      job.args.length ? <code>{job.args.join(' ')}</code> : <span className="muted">none</span>,
    ],
  ];
  // What the container really ran: the tag above moves to each rebuild of the image.
  if (job.docker_image_id)
    facts.push([
      'Docker image',
      <code title={job.docker_image_id} data-testid="job-docker-image">
        {job.docker_image_id.replace(/^sha256:/, '').slice(0, 12)}
      </code>,
    ]);
  const env = Object.keys(job.env);
  if (env.length) facts.push(['Extra environment', <code>{env.join(', ')}</code>]);
  return (
    <dl className="facts" data-testid="job-facts">
      {facts.map(([term, value]) => (
        <div key={term} className="facts__item">
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function CancelJobButton({ job }: { job: Job }) {
  const [open, setOpen] = useState(false);
  const cancel = useCancelJob(job.id);
  if (!isJobActive(job.status)) return null;
  return (
    <>
      <Button
        variant="danger"
        onClick={() => setOpen(true)}
        disabled={job.cancel_requested}
        data-testid="cancel-job"
      >
        {job.cancel_requested ? 'Cancelling…' : 'Cancel job'}
      </Button>
      <ConfirmDialog
        open={open}
        title={`Cancel job #${job.id}?`}
        confirmLabel="Cancel the job"
        danger
        busy={cancel.isPending}
        error={cancel.isError ? describeError(cancel.error) : null}
        onConfirm={() => cancel.mutate(undefined, { onSuccess: () => setOpen(false) })}
        onCancel={() => setOpen(false)}
      >
        <p>
          {job.status === 'queued'
            ? 'The job will not start.'
            : 'The running container is stopped; its output so far is kept.'}
        </p>
      </ConfirmDialog>
    </>
  );
}
