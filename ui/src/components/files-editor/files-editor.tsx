import { useQuery, type QueryKey, type UseQueryOptions } from '@tanstack/react-query';
import { useId, useState, type FormEvent, type KeyboardEvent } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { CodeEditor } from '@/components/ui/code-editor';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Loading } from '@/components/ui/loading';
import type { FileEntry } from '@/lib/api-types';
import { formatBytes } from '@/lib/format';
import { describeError, placeProblem } from '@/lib/problems';
import { decodeUtf8 } from '@/lib/text';
import { ApiError } from '@/lib/api-client';

import type { FileDrafts } from './use-file-drafts';

export type FilesEditorProps<K extends QueryKey> = {
  files: FileEntry[];
  drafts: FileDrafts;
  selected: string | null;
  onSelect: (path: string) => void;
  /** The query options of one file's bytes (`imageFileQueryOptions(id, path)`). */
  fileQuery: (path: string) => UseQueryOptions<Uint8Array, Error, Uint8Array, K>;
  save: (path: string, content: string) => Promise<unknown>;
  remove: (path: string) => Promise<unknown>;
  /** Why the files cannot be edited now, or null when they can. */
  readOnlyReason?: string | null;
  /** Files that cannot be deleted, with the reason (the Dockerfile, the entry file). */
  undeletable?: Record<string, string>;
  /** Said after a successful save (a script's save makes a revision). */
  savedMessage?: string;
};

/** The message of a failed save, for the file at fault. */
export function saveErrorMessage(error: unknown, path: string): string {
  if (error instanceof ApiError && error.problem) {
    const placed = placeProblem(error.problem, ['path', `files.${path}`]);
    const message = placed.fields.path ?? placed.fields[`files.${path}`] ?? placed.general;
    if (message) return message;
  }
  return describeError(error);
}

/**
 * The file editor of images and scripts: a file list, CodeMirror for the chosen
 * file, save (button or Ctrl/Cmd+S), new file, delete. Drafts live in the page.
 */
export function FilesEditor<K extends QueryKey>({
  files,
  drafts,
  selected,
  onSelect,
  fileQuery,
  save,
  remove,
  readOnlyReason = null,
  undeletable = {},
  savedMessage = 'Saved.',
}: FilesEditorProps<K>) {
  const readOnlyId = useId();
  const newPathId = useId();
  const [newPath, setNewPath] = useState('');
  const [adding, setAdding] = useState(false);
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState<{ path: string; error: string | null } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);

  const known = files.map((file) => file.path);
  const newPaths = Object.keys(drafts.drafts).filter((path) => !known.includes(path));
  const paths = [...known, ...newPaths];
  const isNew = selected !== null && !known.includes(selected);
  // A new file is not on the server yet: nothing to load.
  const query = useQuery({
    ...fileQuery(selected ?? ''),
    enabled: selected !== null && !isNew,
  });
  const savedText = query.data ? decodeUtf8(query.data) : null;
  const binary = query.data !== undefined && savedText === null;
  const draft = selected !== null ? drafts.drafts[selected] : undefined;
  const text = draft ?? (isNew ? '' : savedText);
  const dirty = draft !== undefined;
  const readOnly = readOnlyReason !== null || binary;

  async function saveCurrent() {
    if (selected === null || readOnly || saving || (!dirty && !isNew)) return;
    const path = selected;
    const content = drafts.drafts[path] ?? '';
    setSaving(true);
    setStatus(null);
    try {
      await save(path, content);
      drafts.clearDraft(path);
      setStatus({ path, error: null });
    } catch (error) {
      setStatus({ path, error: saveErrorMessage(error, path) });
    } finally {
      setSaving(false);
    }
  }

  async function deleteCurrent() {
    if (selected === null) return;
    const path = selected;
    if (isNew) {
      drafts.clearDraft(path);
      setConfirmDelete(false);
      if (known[0]) onSelect(known[0]);
      return;
    }
    setDeleting(true);
    setDeleteError(null);
    try {
      await remove(path);
      drafts.clearDraft(path);
      setConfirmDelete(false);
      const next = known.find((other) => other !== path);
      if (next) onSelect(next);
    } catch (error) {
      setDeleteError(saveErrorMessage(error, path));
    } finally {
      setDeleting(false);
    }
  }

  function addFile(event: FormEvent) {
    event.preventDefault();
    const path = newPath.trim().replace(/^\/+/, '');
    if (!path) return;
    if (!paths.includes(path)) drafts.setDraft(path, '', null);
    onSelect(path);
    setNewPath('');
    setAdding(false);
  }

  function onKeyDown(event: KeyboardEvent) {
    // CodeMirror handles its own Ctrl+S; this catches it elsewhere in the panel,
    // where the browser would otherwise offer to save the page.
    if (
      (event.ctrlKey || event.metaKey) &&
      event.key.toLowerCase() === 's' &&
      !event.defaultPrevented
    ) {
      event.preventDefault();
      void saveCurrent();
    }
  }

  const undeletableReason = selected !== null ? undeletable[selected] : undefined;

  return (
    <div className="files-editor" onKeyDown={onKeyDown} data-testid="files-editor">
      <div className="files-editor__list">
        <ul className="file-list" aria-label="Files">
          {paths.map((path) => {
            const entry = files.find((file) => file.path === path);
            const current = path === selected;
            const changed = path in drafts.drafts;
            return (
              <li key={path}>
                <button
                  type="button"
                  className={`file-list__item${current ? ' file-list__item--current' : ''}`}
                  aria-current={current ? 'true' : undefined}
                  onClick={() => onSelect(path)}
                  data-testid={`file-${path}`}
                >
                  <span className="file-list__name">{path}</span>
                  {changed ? (
                    <span className="file-list__dirty" title="Unsaved changes">
                      ●<span className="visually-hidden"> (unsaved)</span>
                    </span>
                  ) : (
                    entry && <span className="file-list__size">{formatBytes(entry.size)}</span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
        {readOnlyReason === null &&
          (adding ? (
            <form className="file-list__new" onSubmit={addFile}>
              <label htmlFor={newPathId} className="field__label">
                New file path
              </label>
              <input
                id={newPathId}
                className="input"
                value={newPath}
                onChange={(event) => setNewPath(event.target.value)}
                placeholder="helpers/util.py"
                autoFocus
              />
              <div className="button-row">
                <Button type="submit" variant="primary">
                  Add
                </Button>
                <Button onClick={() => setAdding(false)}>Cancel</Button>
              </div>
            </form>
          ) : (
            <Button className="file-list__add" onClick={() => setAdding(true)}>
              New file
            </Button>
          ))}
      </div>

      <div className="files-editor__main">
        {selected === null ? (
          <p className="muted">Choose a file.</p>
        ) : (
          <>
            <div className="files-editor__toolbar">
              <span className="files-editor__path" data-testid="editor-path">
                {selected}
                {dirty && <span className="files-editor__modified"> — modified</span>}
              </span>
              <div className="button-row">
                {!readOnly && (
                  <Button
                    variant="primary"
                    onClick={() => void saveCurrent()}
                    disabled={!dirty && !isNew}
                    busy={saving}
                    title="Save (Ctrl+S)"
                    data-testid="save-file"
                  >
                    Save
                  </Button>
                )}
                {dirty && !isNew && (
                  <Button onClick={() => drafts.clearDraft(selected)} disabled={saving}>
                    Revert
                  </Button>
                )}
                {readOnlyReason === null && (
                  <Button
                    variant="ghost"
                    onClick={() => {
                      setDeleteError(null);
                      setConfirmDelete(true);
                    }}
                    disabled={undeletableReason !== undefined}
                    title={undeletableReason}
                  >
                    Delete
                  </Button>
                )}
              </div>
            </div>
            {readOnlyReason !== null && (
              <p className="readonly-note" id={readOnlyId} data-testid="readonly-reason">
                <strong>Read-only.</strong> {readOnlyReason}
              </p>
            )}
            {status?.path === selected &&
              (status.error ? (
                <p className="field__error" role="alert" data-testid="save-error">
                  Not saved: {status.error}
                </p>
              ) : (
                <p className="save-note" role="status" data-testid="save-status">
                  {savedMessage}
                </p>
              ))}
            {query.isError && !isNew ? (
              <Alert>
                Could not load {selected}: {describeError(query.error)}
              </Alert>
            ) : binary ? (
              <p className="muted">
                This file is not text ({formatBytes(query.data?.length ?? 0)}); it cannot be edited
                here.
              </p>
            ) : text === null ? (
              <Loading label={`Loading ${selected}…`} />
            ) : (
              <CodeEditor
                key={selected}
                path={selected}
                value={text}
                readOnly={readOnly}
                describedBy={readOnlyReason !== null ? readOnlyId : undefined}
                onChange={(value) => drafts.setDraft(selected, value, isNew ? null : savedText)}
                onSave={() => void saveCurrent()}
              />
            )}
          </>
        )}
      </div>

      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${selected ?? ''}?`}
        confirmLabel="Delete file"
        danger
        busy={deleting}
        error={deleteError}
        onConfirm={() => void deleteCurrent()}
        onCancel={() => setConfirmDelete(false)}
      >
        {isNew ? (
          <p>The new file was never saved; it goes away.</p>
        ) : (
          <p>The file is removed from the server.</p>
        )}
      </ConfirmDialog>
    </div>
  );
}
