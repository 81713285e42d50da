// @vitest-environment happy-dom
import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { fakeServer, json, noContent, problem } from '@/test/fake-server';
import { anImage } from '@/test/fixtures';
import { renderWithProviders } from '@/test/render';

import { ImageActions } from '../components/image-actions';

const built = anImage({ id: 4, name: 'py311', status: 'built', tag: 'scripter/py311:4' });

function renderActions(onDeleted = vi.fn()) {
  const view = renderWithProviders(
    <ImageActions
      image={built}
      onBuildStarted={() => {}}
      onDeleted={onDeleted}
      unsavedFiles={false}
    />,
  );
  return { ...view, onDeleted };
}

/** The open confirmation dialog (a closed `<dialog>` is not in the accessibility tree). */
const dialog = (name: RegExp) => screen.getByRole('dialog', { name });

describe('ImageActions', () => {
  it('asks before destroying; Cancel sends nothing and closes the dialog', async () => {
    const server = fakeServer({});
    const { user } = renderActions();
    expect(screen.queryByRole('dialog')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Destroy' }));
    const asked = dialog(/Destroy the Docker image of py311\?/);
    expect(asked.textContent).toContain('scripter/py311:4');
    expect(server.requests).toEqual([]);

    await user.click(within(asked).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(server.requests).toEqual([]);
  });

  it('destroys once confirmed, and closes the dialog', async () => {
    const server = fakeServer({
      'POST /api/images/4/destroy': () => json({ ...built, status: 'dormant', tag: null }),
    });
    const { user } = renderActions();
    await user.click(screen.getByRole('button', { name: 'Destroy' }));
    await user.click(
      within(dialog(/Destroy the Docker image/)).getByRole('button', { name: 'Destroy' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(server.sent('POST', '/api/images/4/destroy')).toHaveLength(1);
  });

  it('asks before deleting; Cancel sends nothing and does not report a deletion', async () => {
    const server = fakeServer({});
    const { user, onDeleted } = renderActions();
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    const asked = dialog(/Delete py311\?/);
    expect(asked.textContent).toContain('cannot be undone');

    await user.click(within(asked).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(server.requests).toEqual([]);
    expect(onDeleted).not.toHaveBeenCalled();
  });

  it('deletes once confirmed and reports it', async () => {
    const server = fakeServer({ 'DELETE /api/images/4': () => noContent() });
    const { user, onDeleted } = renderActions();
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(
      within(dialog(/Delete py311\?/)).getByRole('button', { name: 'Delete image' }),
    );
    await waitFor(() => expect(onDeleted).toHaveBeenCalledTimes(1));
    expect(server.sent('DELETE', '/api/images/4')).toHaveLength(1);
  });

  it('shows the server’s reason in the dialog when a deletion is refused', async () => {
    fakeServer({
      'DELETE /api/images/4': () => problem(409, 'Scripts still use this image: report.'),
    });
    const { user, onDeleted } = renderActions();
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    const asked = dialog(/Delete py311\?/);
    await user.click(within(asked).getByRole('button', { name: 'Delete image' }));
    expect((await within(asked).findByRole('alert')).textContent).toBe(
      'Scripts still use this image: report.',
    );
    expect(onDeleted).not.toHaveBeenCalled();
  });
});
