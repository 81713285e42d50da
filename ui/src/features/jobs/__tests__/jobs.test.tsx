import { renderToStaticMarkup } from 'react-dom/server';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { describe, expect, it } from 'vitest';

import type { Job } from '@/lib/api-types';

import { JobFacts, jobOutcome } from '../components/job-details';
import { isJobActive, JobStatusBadge } from '../components/job-status-badge';
import { JobsTable } from '../components/jobs-table';
import { runEnv } from '../components/run-form';
import { failuresOfLastDay } from '../utils/failures';

const job = (overrides: Partial<Job>): Job => ({
  id: 1,
  script_id: 2,
  revision: 3,
  image_id: 4,
  image_tag: 'scripter/base:4',
  docker_image_id: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  trigger: 'manual',
  schedule_id: null,
  status: 'succeeded',
  args: [],
  env: {},
  created_at: '2026-01-01T10:00:00Z',
  started_at: '2026-01-01T10:00:01Z',
  finished_at: '2026-01-01T10:00:02Z',
  duration_seconds: 1.5,
  exit_code: 0,
  oom_killed: false,
  log_truncated: false,
  cancel_requested: false,
  error: null,
  log_path: 'scripts/2/logs/x.log',
  ...overrides,
});

function inRouter(element: ReactElement): string {
  const router = createMemoryRouter([{ path: '/', element }]);
  return renderToStaticMarkup(<RouterProvider router={router} />);
}

describe('job status', () => {
  it('says the status in words, with a tone', () => {
    const html = renderToStaticMarkup(<JobStatusBadge status="timed_out" />);
    expect(html).toContain('badge--danger');
    expect(html).toContain('>timed out<');
    expect(isJobActive('queued')).toBe(true);
    expect(isJobActive('cancelled')).toBe(false);
  });

  it('explains what ended a job', () => {
    expect(jobOutcome(job({ status: 'failed', oom_killed: true }))).toMatch(/out of memory/);
    expect(jobOutcome(job({ status: 'timed_out' }))).toMatch(/timeout/);
    expect(jobOutcome(job({ status: 'running', cancel_requested: true }))).toBe('Cancelling…');
    expect(jobOutcome(job({}))).toBeNull();
  });
});

describe('JobFacts', () => {
  it('shows the short id of the Docker image the job ran, once it is known', () => {
    const html = inRouter(<JobFacts job={job({})} />);
    expect(html).toContain('>0123456789ab</code>');
    expect(html).toContain('title="sha256:0123456789abcdef');
    expect(inRouter(<JobFacts job={job({ docker_image_id: null })} />)).not.toContain(
      'job-docker-image',
    );
  });
});

describe('JobsTable', () => {
  it('links each job and names its script', () => {
    const html = inRouter(
      <JobsTable
        jobs={[job({ id: 9, status: 'running', exit_code: null })]}
        scriptNames={new Map([[2, 'hello']])}
        caption="Jobs"
      />,
    );
    expect(html).toContain('href="/jobs/9"');
    expect(html).toContain('>hello</a>');
    expect(html).toContain('data-testid="job-status-9"');
    expect(html).toContain('data-label="Status"');
  });
});

describe('failuresOfLastDay', () => {
  it('keeps the failed, timed out and lost jobs of the last 24 hours, once each', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    const jobs = [
      job({ id: 1, status: 'failed', finished_at: '2026-01-02T11:00:00Z' }),
      job({ id: 2, status: 'failed', finished_at: '2025-12-30T11:00:00Z' }),
      job({ id: 3, status: 'timed_out', finished_at: '2026-01-02T09:00:00Z' }),
      job({ id: 4, status: 'succeeded', finished_at: '2026-01-02T11:00:00Z' }),
      job({ id: 1, status: 'failed', finished_at: '2026-01-02T11:00:00Z' }),
    ];
    expect(failuresOfLastDay(jobs, now).map((j) => j.id)).toEqual([3, 1]);
  });
});

describe('runEnv', () => {
  it('makes a mapping of the named rows; a later name wins', () => {
    expect(
      runEnv([
        { key: 1, name: 'A', value: '1', secret: false, stored: false },
        { key: 2, name: ' ', value: 'x', secret: false, stored: false },
        { key: 3, name: 'A', value: '2', secret: false, stored: false },
      ]),
    ).toEqual({ A: '2' });
  });
});
