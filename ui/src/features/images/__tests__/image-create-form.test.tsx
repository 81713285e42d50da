// @vitest-environment happy-dom
import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { fakeServer, json, problem } from '@/test/fake-server';
import { anImage } from '@/test/fixtures';
import { renderWithProviders } from '@/test/render';

import { ImageCreateForm } from '../components/image-create-form';

const DEFAULTS = {
  base_image: 'registry.example/python:3.11',
  dockerfile: 'FROM registry.example/python:3.11\nRUN python3 -m venv /opt/venv\n',
  requirements: '',
};

describe('ImageCreateForm', () => {
  it('shows the server’s default Dockerfile and sends none while it is chosen', async () => {
    const server = fakeServer({
      'GET /api/images/defaults': () => json(DEFAULTS),
      'POST /api/images': () => json(anImage({ id: 5, name: 'etl' }), 201),
    });
    const onCreated = vi.fn();
    const { user } = renderWithProviders(<ImageCreateForm onCreated={onCreated} />);

    const shown = await screen.findByTestId('image-default-dockerfile');
    await waitFor(() => expect(shown.textContent).toContain('RUN python3 -m venv /opt/venv'));
    expect(shown.textContent).toContain('FROM registry.example/python:3.11');
    expect(screen.getByTestId('image-form').textContent).not.toContain('python:3.12-slim');

    await user.type(screen.getByLabelText('Name'), 'etl');
    await user.click(screen.getByTestId('create-image'));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    const [sent] = server.sent('POST', '/api/images');
    expect(JSON.parse(sent?.body ?? '')).toMatchObject({ name: 'etl', dockerfile: null });
  });

  it('starts the user’s own Dockerfile from the server’s default', async () => {
    const server = fakeServer({
      'GET /api/images/defaults': () => json(DEFAULTS),
      'POST /api/images': () => json(anImage({ id: 5, name: 'etl' }), 201),
    });
    const { user } = renderWithProviders(<ImageCreateForm onCreated={() => {}} />);
    await screen.findByTestId('image-default-dockerfile');

    await user.click(screen.getByRole('radio', { name: /My own Dockerfile/ }));
    const editor = await screen.findByTestId('image-dockerfile-editor');
    await waitFor(() => expect(editor.textContent).toContain('FROM registry.example/python:3.11'));
    await user.type(screen.getByLabelText('Name'), 'etl');
    await user.click(screen.getByTestId('create-image'));
    await waitFor(() => expect(server.sent('POST', '/api/images')).toHaveLength(1));
    const [sent] = server.sent('POST', '/api/images');
    expect(JSON.parse(sent?.body ?? '').dockerfile).toBe(DEFAULTS.dockerfile);
  });

  it('says so when the defaults cannot be loaded', async () => {
    fakeServer({ 'GET /api/images/defaults': () => problem(500, 'the server failed') });
    renderWithProviders(<ImageCreateForm onCreated={() => {}} />);
    const alert = await screen.findByTestId('image-defaults-error');
    expect(alert.textContent).toContain('Could not load the server’s default Dockerfile');
    expect(screen.queryByTestId('image-default-dockerfile')).toBeNull();
  });
});
