import { useMemo, useState } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Loading } from '@/components/ui/loading';
import { RelativeTime } from '@/components/ui/time';
import type { Script } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { useRevision } from '../api/get-revision';
import { useRevisions } from '../api/get-revisions';
import { useRestoreRevision } from '../api/restore-revision';
import { diffFiles } from '../utils/diff';
import { revisionFiles, settingsText, SETTINGS_PATH } from '../utils/revision-text';

import { FileDiffView } from './diff-view';

function RevisionDiff({ scriptId, from, to }: { scriptId: number; from: number; to: number }) {
  const before = useRevision(scriptId, from);
  const after = useRevision(scriptId, to);
  const diffs = useMemo(() => {
    if (!before.data || !after.data) return null;
    return diffFiles(
      { ...revisionFiles(before.data), [SETTINGS_PATH]: settingsText(before.data) },
      { ...revisionFiles(after.data), [SETTINGS_PATH]: settingsText(after.data) },
    );
  }, [before.data, after.data]);
  if (before.isError || after.isError)
    return <Alert>Could not load a revision: {describeError(before.error ?? after.error)}</Alert>;
  if (!diffs) return <Loading label="Comparing…" />;
  const changed = diffs.filter((diff) => diff.status !== 'unchanged');
  const unchanged = diffs.length - changed.length;
  return (
    <div className="stack" data-testid="revision-diff">
      {changed.length === 0 ? (
        <p className="muted">
          Revisions {from} and {to} have the same files and settings.
        </p>
      ) : (
        changed.map((diff) => <FileDiffView key={diff.path} diff={diff} />)
      )}
      {unchanged > 0 && changed.length > 0 && (
        <p className="muted small">
          {unchanged} {unchanged === 1 ? 'file' : 'files'} unchanged.
        </p>
      )}
    </div>
  );
}

/** The script's revisions: compare any two, restore one (as a new revision). */
export function RevisionsPanel({ script }: { script: Script }) {
  const revisions = useRevisions(script.id);
  const restore = useRestoreRevision(script.id);
  const current = script.current_revision;
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [restoring, setRestoring] = useState<number | null>(null);

  if (revisions.isPending) return <Loading label="Loading revisions…" />;
  if (revisions.isError)
    return <Alert>Could not load the revisions: {describeError(revisions.error)}</Alert>;
  const numbers = revisions.data.map((revision) => revision.number);
  const toNumber = to ?? current;
  const fromNumber = from ?? numbers.find((number) => number < toNumber) ?? toNumber;

  return (
    <div className="revisions">
      <div className="revisions__list">
        <table className="table table--stack" data-testid="revisions-table">
          <caption className="visually-hidden">Revisions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Saved</th>
              <th scope="col">Files</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {revisions.data.map((revision) => (
              <tr key={revision.number} data-testid={`revision-${revision.number}`}>
                <td className="nowrap" data-label="Revision">
                  <strong>{revision.number}</strong>
                  {revision.number === current && <span className="tag">current</span>}
                </td>
                <td className="nowrap" data-label="Saved">
                  <RelativeTime iso={revision.created_at} />
                </td>
                <td data-label="Files">{revision.files.length}</td>
                <td className="table__actions" data-label="">
                  {revision.number !== current && (
                    <>
                      <Button
                        variant="ghost"
                        onClick={() => {
                          setFrom(revision.number);
                          setTo(current);
                        }}
                      >
                        Compare
                      </Button>
                      <Button
                        onClick={() => setRestoring(revision.number)}
                        data-testid={`restore-${revision.number}`}
                      >
                        Restore
                      </Button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="revisions__diff">
        <div className="toolbar">
          <label className="inline-field">
            <span>Compare</span>
            <select
              className="input"
              value={fromNumber}
              onChange={(event) => setFrom(Number(event.target.value))}
              data-testid="diff-from"
            >
              {numbers.map((number) => (
                <option key={number} value={number}>
                  revision {number}
                </option>
              ))}
            </select>
          </label>
          <label className="inline-field">
            <span>with</span>
            <select
              className="input"
              value={toNumber}
              onChange={(event) => setTo(Number(event.target.value))}
              data-testid="diff-to"
            >
              {numbers.map((number) => (
                <option key={number} value={number}>
                  revision {number}
                </option>
              ))}
            </select>
          </label>
        </div>
        {fromNumber === toNumber ? (
          <p className="muted">Choose two different revisions to see what changed between them.</p>
        ) : (
          <RevisionDiff scriptId={script.id} from={fromNumber} to={toNumber} />
        )}
      </div>
      <ConfirmDialog
        open={restoring !== null}
        title={`Restore revision ${restoring ?? ''}?`}
        confirmLabel="Restore"
        busy={restore.isPending}
        error={restore.isError ? describeError(restore.error) : null}
        onConfirm={() =>
          restoring !== null &&
          restore.mutate(restoring, {
            onSuccess: () => {
              setRestoring(null);
              setFrom(null);
              setTo(null);
            },
          })
        }
        onCancel={() => {
          restore.reset();
          setRestoring(null);
        }}
      >
        <p>
          Its files and settings become current again, as a new revision; revision {current} stays
          in the history.
        </p>
      </ConfirmDialog>
    </div>
  );
}
