// @vitest-environment happy-dom
import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { fakeServer, json, problem } from '@/test/fake-server';
import { aJob, aScript } from '@/test/fixtures';
import { renderWithProviders } from '@/test/render';

import { RunForm } from '../components/run-form';

const script = aScript({ id: 5, args: ['--daily'], current_revision: 3 });

function renderForm() {
  const onStarted = vi.fn();
  const view = renderWithProviders(
    <RunForm script={script} blockedReason={null} onStarted={onStarted} />,
  );
  return { ...view, onStarted };
}

function runServer() {
  return fakeServer({
    'POST /api/scripts/5/runs': (request) =>
      json(aJob({ id: 42, script_id: 5, ...JSON.parse(request.body) }), 202),
  });
}

const bodies = (server: ReturnType<typeof runServer>) =>
  server.sent('POST', '/api/scripts/5/runs').map((request) => JSON.parse(request.body) as unknown);

describe('RunForm', () => {
  it('runs with the script’s default arguments unless told otherwise', async () => {
    const server = runServer();
    const { user, onStarted } = renderForm();
    expect(screen.getByText('--daily')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Run now' }));
    await waitFor(() => expect(onStarted).toHaveBeenCalledTimes(1));
    // No `args`: the server uses the script's own.
    expect(bodies(server)).toEqual([{ env: {}, trigger: 'manual' }]);
    expect(onStarted.mock.calls[0]?.[0]).toMatchObject({ id: 42 });
  });

  it('sends the arguments and the environment as typed', async () => {
    const server = runServer();
    const { user, onStarted } = renderForm();

    await user.click(screen.getByRole('radio', { name: 'Other arguments for this run' }));
    const args = screen.getByRole('textbox', { name: 'Arguments' });
    await user.clear(args);
    // One argument per line, spaces and quotes kept: there is no shell.
    await user.type(args, '--name{Enter}Ada Lovelace{Enter}--quote="x y"');

    await user.click(screen.getByRole('button', { name: 'Add variable' }));
    await user.click(screen.getByRole('button', { name: 'Add variable' }));
    await user.type(screen.getByRole('textbox', { name: 'Name of variable 1' }), 'GREETING');
    await user.type(screen.getByRole('textbox', { name: 'Value of variable 1' }), 'hello world');
    await user.type(screen.getByRole('textbox', { name: 'Name of variable 2' }), 'EMPTY');

    await user.click(screen.getByRole('button', { name: 'Run now' }));
    await waitFor(() => expect(onStarted).toHaveBeenCalledTimes(1));
    expect(bodies(server)).toEqual([
      {
        args: ['--name', 'Ada Lovelace', '--quote="x y"'],
        env: { GREETING: 'hello world', EMPTY: '' },
        trigger: 'manual',
      },
    ]);
  });

  it('shows a refused argument next to the arguments field', async () => {
    fakeServer({
      'POST /api/scripts/5/runs': () =>
        problem(422, 'argument 0 has a NUL byte or is over 4096 characters', {
          field: 'args[0]',
        }),
    });
    const { user, onStarted } = renderForm();
    await user.click(screen.getByRole('radio', { name: 'Other arguments for this run' }));
    await user.click(screen.getByRole('button', { name: 'Run now' }));

    const error = await screen.findByTestId('error-run-args');
    expect(error.textContent).toBe('argument 0 has a NUL byte or is over 4096 characters');
    expect(
      screen.getByRole('textbox', { name: 'Arguments' }).getAttribute('aria-describedby'),
    ).toContain(error.id);
    expect(screen.queryByTestId('form-error')).toBeNull();
    expect(onStarted).not.toHaveBeenCalled();
  });

  it('shows a refused variable under the environment', async () => {
    fakeServer({
      'POST /api/scripts/5/runs': () =>
        problem(
          422,
          "'1X' is not a variable name (letters, digits, '_', not starting with a digit)",
          {
            field: 'env.1X',
          },
        ),
    });
    const { user } = renderForm();
    await user.click(screen.getByRole('button', { name: 'Add variable' }));
    await user.type(screen.getByRole('textbox', { name: 'Name of variable 1' }), '1X');
    await user.click(screen.getByRole('button', { name: 'Run now' }));

    const editor = screen.getByTestId('run-env');
    await waitFor(() => expect(editor.textContent).toContain("'1X' is not a variable name"));
    expect(screen.queryByTestId('form-error')).toBeNull();
  });
});
