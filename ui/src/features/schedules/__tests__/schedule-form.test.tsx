// @vitest-environment happy-dom
import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import type { PreviewResult, Schedule } from '@/lib/api-types';
import { fakeServer, json, problem, type SentRequest } from '@/test/fake-server';
import { renderWithProviders } from '@/test/render';

import { SchedulesPanel } from '../components/schedules-panel';

/** The fire times the fake server gives an expression: five, a quarter of an hour apart. */
function previewOf(cron: string, timezone: string): PreviewResult {
  const times = [0, 15, 30, 45, 60].map((minutes) => {
    const utc = new Date(Date.UTC(2030, 0, 7, 9, minutes)).toISOString();
    return { utc, local: utc.replace('Z', '+01:00') };
  });
  return { cron, timezone, description: `preview of ${cron}`, fire_times: times };
}

/** The schedules of script 2 (none), the preview, and the create endpoint `create`. */
function scheduleServer(create: (request: SentRequest) => Response) {
  return fakeServer({
    'GET /api/scripts/2/schedules': () => json([]),
    'POST /api/schedules/preview': (request) => {
      const { cron, timezone } = JSON.parse(request.body) as { cron: string; timezone: string };
      if (cron.split(' ')[0] === '61')
        return problem(422, "minute field: 61 is out of range (0-59) in '61 * * * *'", {
          field: 'cron',
        });
      return json(previewOf(cron, timezone));
    },
    'POST /api/scripts/2/schedules': create,
  });
}

const previews = (server: ReturnType<typeof scheduleServer>) =>
  server
    .sent('POST', '/api/schedules/preview')
    .map((request) => JSON.parse(request.body) as unknown);

async function openNewSchedule() {
  const view = renderWithProviders(<SchedulesPanel scriptId={2} />);
  await view.user.click(await screen.findByRole('button', { name: 'Add schedule' }));
  const form = screen.getByTestId('schedule-form');
  const cron = within(form).getByRole('textbox', { name: 'Cron expression' });
  const timezone = within(form).getByRole('combobox', { name: 'Timezone' });
  return { ...view, form, cron, timezone };
}

describe('ScheduleForm in the schedules panel', () => {
  it('previews the next runs of what is typed before anything is saved', async () => {
    const server = scheduleServer((request) =>
      json({ id: 9, ...JSON.parse(request.body) } as Partial<Schedule>, 201),
    );
    const { user, form, cron, timezone } = await openNewSchedule();
    await user.clear(cron);
    await user.type(cron, '*/15 * * * *');
    await user.clear(timezone);
    await user.paste('Europe/Berlin');

    const preview = await screen.findByText('preview of */15 * * * *');
    const shown = within(preview.parentElement!).getAllByRole('listitem');
    expect(shown.map((item) => item.querySelector('time')?.getAttribute('datetime'))).toEqual(
      previewOf('*/15 * * * *', 'Europe/Berlin').fire_times.map((time) => time.local),
    );
    await waitFor(() =>
      expect(previews(server)).toContainEqual({
        cron: '*/15 * * * *',
        timezone: 'Europe/Berlin',
        count: 5,
      }),
    );
    expect(server.sent('POST', '/api/scripts/2/schedules')).toEqual([]);

    await user.click(within(form).getByRole('button', { name: 'Add schedule' }));
    await waitFor(() => expect(server.sent('POST', '/api/scripts/2/schedules')).toHaveLength(1));
    const created = server.sent('POST', '/api/scripts/2/schedules')[0]!;
    expect(JSON.parse(created.body)).toMatchObject({
      cron: '*/15 * * * *',
      timezone: 'Europe/Berlin',
      args: null,
      env: {},
    });
    await waitFor(() => expect(screen.queryByTestId('schedule-form')).toBeNull());
  });

  it('shows an invalid expression next to the cron field before saving', async () => {
    const server = scheduleServer(() => json({}, 201));
    const { user, form, cron } = await openNewSchedule();
    await user.clear(cron);
    await user.type(cron, '61 * * * *');

    const error = await screen.findByTestId('error-schedule-new-cron');
    expect(error.textContent).toBe("minute field: 61 is out of range (0-59) in '61 * * * *'");
    expect(cron.getAttribute('aria-invalid')).toBe('true');
    expect(within(form).queryByTestId('form-error')).toBeNull();
    expect(server.sent('POST', '/api/scripts/2/schedules')).toEqual([]);
  });

  it('shows a 422 of saving next to the field at fault, and keeps the form', async () => {
    const server = scheduleServer(() =>
      problem(
        422,
        "'1X' is not a variable name (letters, digits, '_', not starting with a digit)",
        {
          field: 'env.1X',
        },
      ),
    );
    const { user, form } = await openNewSchedule();
    await user.click(within(form).getByRole('button', { name: 'Add variable' }));
    await user.type(within(form).getByRole('textbox', { name: 'Name of variable 1' }), '1X');
    await user.type(within(form).getByRole('textbox', { name: 'Value of variable 1' }), 'x');
    await user.click(within(form).getByRole('button', { name: 'Add schedule' }));

    const error = await screen.findByTestId('error-schedule-new-env-0-name');
    expect(error.textContent).toBe(
      "'1X' is not a variable name (letters, digits, '_', not starting with a digit)",
    );
    expect(
      within(form)
        .getByRole('textbox', { name: 'Name of variable 1' })
        .getAttribute('aria-invalid'),
    ).toBe('true');
    expect(within(form).queryByTestId('form-error')).toBeNull();
    expect(screen.getByTestId('schedule-form')).toBe(form);
    expect(JSON.parse(server.sent('POST', '/api/scripts/2/schedules')[0]!.body)).toMatchObject({
      env: { '1X': 'x' },
    });
  });
});
