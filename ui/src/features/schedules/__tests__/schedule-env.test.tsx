import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { EnvEditor } from '@/features/scripts/components/env-editor';
import type { Schedule } from '@/lib/api-types';

import { ScheduleForm } from '../components/schedule-form';
import {
  describeScheduleEnv,
  scheduleEnvBody,
  scheduleEnvErrors,
  scheduleEnvRows,
} from '../utils/schedule-env';

// As the API sends it: the override of the script's secret TOKEN has no value.
const schedule: Schedule = {
  id: 3,
  script_id: 7,
  cron: '0 6 * * *',
  timezone: 'UTC',
  enabled: true,
  misfire_policy: 'skip',
  overlap_policy: 'allow',
  args: null,
  env: { TOKEN: null, MODE: 'slow' },
  next_run_at: null,
  next_runs: [],
  description: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

describe('schedule env', () => {
  it('holds a secret override as kept, with no value', () => {
    const rows = scheduleEnvRows(schedule.env);
    expect(
      rows.map(({ name, value, secret, stored }) => ({ name, value, secret, stored })),
    ).toEqual([
      { name: 'TOKEN', value: '', secret: true, stored: true },
      { name: 'MODE', value: 'slow', secret: false, stored: false },
    ]);
  });

  it('sends back null for a kept secret: the env comes back unchanged', () => {
    expect(scheduleEnvBody(scheduleEnvRows(schedule.env))).toEqual(schedule.env);
  });

  it('sends a typed value in place of the secret, and leaves out removed rows', () => {
    const [token, mode] = scheduleEnvRows(schedule.env);
    if (!token || !mode) throw new Error('two rows');
    expect(scheduleEnvBody([{ ...token, value: 'rotated' }, mode])).toEqual({
      TOKEN: 'rotated',
      MODE: 'slow',
    });
    expect(scheduleEnvBody([mode])).toEqual({ MODE: 'slow' });
    // A new row is never null, even empty; one without a name is dropped.
    const fresh = scheduleEnvRows({ A: '' });
    expect(scheduleEnvBody([...fresh, { ...mode, name: '  ' }])).toEqual({ A: '' });
  });

  it('puts the server’s env.NAME messages on the row of that name', () => {
    const rows = scheduleEnvRows(schedule.env);
    expect(
      scheduleEnvErrors({ 'env.MODE': 'bad', 'env.GONE': 'no such row', env: 'too many' }, rows),
    ).toEqual({ 'env[1]': 'bad', env: 'no such row too many' });
    expect(scheduleEnvErrors(undefined, rows)).toEqual({});
  });

  it('describes the overrides without a secret value', () => {
    expect(describeScheduleEnv(schedule.env)).toBe('TOKEN=(secret) MODE=slow');
    expect(describeScheduleEnv({})).toBeNull();
  });
});

describe('the schedule form', () => {
  const render = (initial?: Schedule) =>
    renderToStaticMarkup(
      <QueryClientProvider client={new QueryClient()}>
        <ScheduleForm
          idPrefix="schedule-3"
          initial={initial}
          submitLabel="Save schedule"
          busy={false}
          error={null}
          onSubmit={() => undefined}
          onCancel={() => undefined}
        />
      </QueryClientProvider>,
    );

  it('shows a secret override as kept, masked, and removable', () => {
    const html = render(schedule);
    expect(html).toContain('secret (kept)');
    expect(html).toMatch(/id="schedule-3-env-0-value"[^>]*type="password"/);
    expect(html).toContain('placeholder="•••••• set; type to replace"');
    expect(html).toContain('aria-label="Remove variable TOKEN"');
    expect(html).toMatch(/id="schedule-3-env-1-value"[^>]*value="slow"/);
  });

  it('starts a new schedule with no overrides', () => {
    expect(render()).toContain('No variables.');
  });

  it('labels a secret being replaced', () => {
    const [token] = scheduleEnvRows(schedule.env);
    if (!token) throw new Error('a row');
    const html = renderToStaticMarkup(
      <EnvEditor
        rows={[{ ...token, value: 'new' }]}
        onChange={() => undefined}
        errors={{}}
        idPrefix="s"
        secrets={false}
      />,
    );
    expect(html).toContain('secret (replaced)');
    expect(html).not.toContain('secret (kept)');
  });
});
