// @vitest-environment happy-dom
import { EditorView } from '@codemirror/view';
import { screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';

import { imageFileQueryOptions } from '@/features/images/api/get-image-file';
import { saveImageFile } from '@/features/images/api/save-image-file';
import { filesReadOnlyReason } from '@/features/images/components/image-status-badge';
import type { FileEntry } from '@/lib/api-types';
import { fakeServer, noContent, type SentRequest } from '@/test/fake-server';
import { renderWithProviders } from '@/test/render';

import { FilesEditor } from '../files-editor/files-editor';
import { useFileDrafts } from '../files-editor/use-file-drafts';

const files: FileEntry[] = [
  { path: 'Dockerfile', size: 18, modified_at: '2026-01-05T10:00:00Z' },
  { path: 'requirements.txt', size: 9, modified_at: '2026-01-05T10:00:00Z' },
];
const stored: Record<string, string> = {
  Dockerfile: 'FROM python:3.11\n',
  'requirements.txt': 'requests\n',
};

/** The image page's wiring of the editor: drafts in the page, files of image 3. */
function ImageFiles({ readOnlyReason = null }: { readOnlyReason?: string | null }) {
  const drafts = useFileDrafts();
  const [selected, setSelected] = useState<string | null>('requirements.txt');
  return (
    <FilesEditor
      files={files}
      drafts={drafts}
      selected={selected}
      onSelect={setSelected}
      fileQuery={(path) => imageFileQueryOptions(3, path)}
      save={(path, content) => saveImageFile(3, path, content)}
      remove={async () => {}}
      readOnlyReason={readOnlyReason}
    />
  );
}

function imageServer() {
  return fakeServer({
    'GET /api/images/3/files/Dockerfile': () => new Response(stored.Dockerfile),
    'GET /api/images/3/files/requirements.txt': () => new Response(stored['requirements.txt']),
    'PUT /api/images/3/files/requirements.txt': () => noContent(),
  });
}

/** The editable area of the CodeMirror editor, once the file has loaded. */
async function editorContent(path: string): Promise<HTMLElement> {
  return screen.findByRole('textbox', { name: `Contents of ${path}` });
}

const docOf = (content: HTMLElement) => EditorView.findFromDOM(content)!.state.doc.toString();

const saves = (server: ReturnType<typeof imageServer>): SentRequest[] =>
  server.sent('PUT', '/api/images/3/files/requirements.txt');

describe('FilesEditor', () => {
  it('keeps every key typed faster than React commits each draft', async () => {
    // The page echoes each draft back as `value`; an echo of an older keystroke must
    // not put that older text back into the editor.
    imageServer();
    const { user } = renderWithProviders(<ImageFiles />);
    const content = await editorContent('requirements.txt');
    await waitFor(() => expect(docOf(content)).toBe('requests\n'));
    await user.click(content);
    await user.keyboard('{Control>}{End}{/Control}');
    await user.keyboard('httpx');
    expect(docOf(content)).toBe('requests\nhttpx');
    expect(screen.getByTestId('editor-path').textContent).toContain('modified');
  });

  it('saves the edited text with Ctrl+S in the editor', async () => {
    const server = imageServer();
    const { user } = renderWithProviders(<ImageFiles />);
    const content = await editorContent('requirements.txt');
    await waitFor(() => expect(docOf(content)).toBe('requests\n'));

    await user.click(content);
    await user.keyboard('{Control>}{End}{/Control}');
    await user.paste('httpx\n');
    expect(docOf(content)).toBe('requests\nhttpx\n');
    expect(screen.getByTestId('editor-path').textContent).toContain('modified');
    expect(saves(server)).toEqual([]);

    await user.keyboard('{Control>}s{/Control}');
    expect((await screen.findByTestId('save-status')).textContent).toBe('Saved.');
    expect(saves(server).map((request) => request.body)).toEqual(['requests\nhttpx\n']);
    expect(screen.getByTestId('editor-path').textContent).not.toContain('modified');
  });

  it('saves with Cmd+S from elsewhere in the panel', async () => {
    const server = imageServer();
    const { user } = renderWithProviders(<ImageFiles />);
    const content = await editorContent('requirements.txt');
    await waitFor(() => expect(docOf(content)).toBe('requests\n'));
    await user.click(content);
    await user.keyboard('{Control>}{End}{/Control}');
    await user.paste('pyyaml\n');

    // Focus on the file list, outside CodeMirror: the panel's own handler saves.
    screen.getByTestId('file-requirements.txt').focus();
    await user.keyboard('{Meta>}s{/Meta}');
    await waitFor(() =>
      expect(saves(server).map((request) => request.body)).toEqual(['requests\npyyaml\n']),
    );
  });

  it('shows why the files are read-only and refuses edits and saves', async () => {
    const server = imageServer();
    const reason = filesReadOnlyReason('built', false)!;
    const { user } = renderWithProviders(<ImageFiles readOnlyReason={reason} />);
    const content = await editorContent('requirements.txt');
    await waitFor(() => expect(docOf(content)).toBe('requests\n'));

    const note = screen.getByTestId('readonly-reason');
    expect(note.textContent).toBe(`Read-only. ${reason}`);
    // The editor says why to a screen reader too.
    expect(content.getAttribute('aria-describedby')).toBe(note.id);
    expect(content.getAttribute('contenteditable')).toBe('false');
    expect(screen.queryByRole('button', { name: 'Save' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'New file' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();

    await user.click(content);
    await user.keyboard('httpx{Enter}{Backspace}');
    await user.paste('pyyaml\n');
    await user.keyboard('{Control>}s{/Control}');
    expect(docOf(content)).toBe('requests\n');
    expect(screen.getByTestId('editor-path').textContent).not.toContain('modified');
    expect(server.requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });
});
