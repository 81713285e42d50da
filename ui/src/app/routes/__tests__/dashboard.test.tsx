// @vitest-environment happy-dom
import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeServer, json, problem } from '@/test/fake-server';
import { renderWithProviders } from '@/test/render';

import { DashboardRoute } from '../dashboard';

const noJobs = () => json({ items: [], next_cursor: null });
const nightly = {
  schedule_id: 3,
  script_id: 7,
  script_name: 'nightly',
  next_run_at: '2030-01-01T02:30:00Z',
  cron: '30 2 * * *',
  timezone: 'Europe/Berlin',
};

describe('DashboardRoute', () => {
  it('reads the next scheduled runs of all scripts in one request', async () => {
    const server = fakeServer({
      'GET /api/jobs': noJobs,
      'GET /api/scripts': () => json({ items: [], next_cursor: null }),
      'GET /api/schedules/upcoming': () => json([nightly]),
    });
    renderWithProviders(<DashboardRoute />);
    const card = await screen.findByTestId('next-runs');
    await waitFor(() => expect(card.textContent).toContain('nightly'));
    expect(card.textContent).toContain('30 2 * * *');
    expect(screen.getByRole('link', { name: 'nightly' }).getAttribute('href')).toBe(
      '/scripts/7?tab=schedules',
    );
    const upcoming = server.sent('GET', '/api/schedules/upcoming');
    expect(upcoming).toHaveLength(1);
    expect(upcoming[0]?.query.get('limit')).toBe('8');
    // No list of a script's schedules is read one by one any more.
    expect(server.requests.filter((r) => /\/api\/scripts\/\d+\/schedules/.test(r.path))).toEqual(
      [],
    );
  });

  it('shows the failure of any of the failures card’s queries', async () => {
    fakeServer({
      'GET /api/jobs': (request) =>
        request.query.get('status') === 'lost' ? problem(503, 'the database is away') : noJobs(),
      'GET /api/scripts': () => json({ items: [], next_cursor: null }),
      'GET /api/schedules/upcoming': () => json([]),
    });
    renderWithProviders(<DashboardRoute />);
    const card = await screen.findByTestId('failures');
    await waitFor(() => expect(card.textContent).toContain('the database is away'));
    expect(card.querySelector('[role="alert"]')).not.toBeNull();
    expect(card.textContent).not.toContain('No failures in the last 24 hours.');
  });
});
