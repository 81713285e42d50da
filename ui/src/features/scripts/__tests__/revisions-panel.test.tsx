// @vitest-environment happy-dom
import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeServer, json } from '@/test/fake-server';
import { aRevision, aScript, summaryOf } from '@/test/fixtures';
import { renderWithProviders } from '@/test/render';

import { RevisionsPanel } from '../components/revisions-panel';

const script = aScript({ id: 6, current_revision: 3 });
const revisions = [
  aRevision(1, { 'main.py': 'print("one")\n' }),
  aRevision(2, { 'main.py': 'print("two")\n', 'util.py': 'X = 1\n' }),
  aRevision(3, { 'main.py': 'print("three")\n', 'util.py': 'X = 1\n' }),
];

function revisionServer() {
  const routes: Parameters<typeof fakeServer>[0] = {
    'GET /api/scripts/6/revisions': () => json(revisions.map(summaryOf).reverse()),
    'POST /api/scripts/6/revisions/1/restore': () => json({ ...script, current_revision: 4 }),
  };
  for (const revision of revisions)
    routes[`GET /api/scripts/6/revisions/${revision.number}`] = () => json(revision);
  return fakeServer(routes);
}

/** The lines of one file's diff as `+text`, `-text` or ` text`. */
function diffLines(path: string): string[] {
  const section = screen.getByRole('region', { name: `Changes of ${path}` });
  return Array.from(section.querySelectorAll('tr.diff__line')).map((row) => {
    const kind = row.classList.contains('diff__line--added')
      ? '+'
      : row.classList.contains('diff__line--removed')
        ? '-'
        : ' ';
    const text = row.querySelector('.diff__text')!;
    // Without the words for screen readers ("added: ").
    const hidden = text.querySelector('.visually-hidden')?.textContent ?? '';
    return kind + text.textContent!.slice(hidden.length);
  });
}

describe('RevisionsPanel', () => {
  it('compares the previous revision with the current one at first', async () => {
    revisionServer();
    renderWithProviders(<RevisionsPanel script={script} />);
    await screen.findByRole('region', { name: 'Changes of main.py' });
    expect(diffLines('main.py')).toEqual(['-print("two")', '+print("three")']);
    // util.py is the same in both.
    expect(screen.queryByRole('region', { name: 'Changes of util.py' })).toBeNull();
  });

  it('shows the diff of any two revisions chosen', async () => {
    revisionServer();
    const { user } = renderWithProviders(<RevisionsPanel script={script} />);
    await screen.findByRole('region', { name: 'Changes of main.py' });

    await user.selectOptions(screen.getByTestId('diff-from'), 'revision 1');
    await user.selectOptions(screen.getByTestId('diff-to'), 'revision 2');
    await waitFor(() => expect(diffLines('main.py')).toEqual(['-print("one")', '+print("two")']));
    const added = screen.getByRole('region', { name: 'Changes of util.py' });
    expect(added.querySelector('.diff__status')?.textContent).toBe('added');
    expect(diffLines('util.py')).toEqual(['+X = 1']);

    // Newer first works too: the diff goes from the first choice to the second.
    await user.selectOptions(screen.getByTestId('diff-from'), 'revision 3');
    await user.selectOptions(screen.getByTestId('diff-to'), 'revision 1');
    await waitFor(() => expect(diffLines('main.py')).toEqual(['-print("three")', '+print("one")']));
    expect(diffLines('util.py')).toEqual(['-X = 1']);

    await user.selectOptions(screen.getByTestId('diff-to'), 'revision 3');
    expect(screen.getByText(/Choose two different revisions/)).toBeTruthy();
  });

  it('asks before restoring; Cancel sends nothing', async () => {
    const server = revisionServer();
    const { user } = renderWithProviders(<RevisionsPanel script={script} />);
    // The current revision cannot be restored.
    await screen.findByTestId('revision-3');
    expect(within(screen.getByTestId('revision-3')).queryByRole('button')).toBeNull();

    await user.click(screen.getByTestId('restore-1'));
    const dialog = screen.getByRole('dialog', { name: 'Restore revision 1?' });
    expect(dialog.textContent).toContain('revision 3 stays in the history');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(server.changes()).toEqual([]);
  });

  it('restores the revision once confirmed', async () => {
    const server = revisionServer();
    const { user, client } = renderWithProviders(<RevisionsPanel script={script} />);
    await user.click(await screen.findByTestId('restore-1'));
    await user.click(
      within(screen.getByRole('dialog', { name: 'Restore revision 1?' })).getByRole('button', {
        name: 'Restore',
      }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(server.changes().map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /api/scripts/6/revisions/1/restore',
    ]);
    // The page's script is the one the server answered: current revision 4.
    expect(client.getQueryData(['scripts', 'detail', 6])).toMatchObject({ current_revision: 4 });
  });
});
