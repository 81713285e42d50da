import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';

import { FilesEditor } from '@/components/files-editor/files-editor';
import { useFileDrafts } from '@/components/files-editor/use-file-drafts';
import { PageHeader } from '@/components/layouts/page-header';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Loading } from '@/components/ui/loading';
import { Tabs } from '@/components/ui/tabs';
import { useImage } from '@/features/images/api/get-image';
import { ImageStatusBadge } from '@/features/images/components/image-status-badge';
import { JobHistory } from '@/features/jobs/components/job-history';
import { RunForm } from '@/features/jobs/components/run-form';
import { SchedulesPanel } from '@/features/schedules/components/schedules-panel';
import { useDeleteScript } from '@/features/scripts/api/delete-script';
import { useDeleteScriptFile } from '@/features/scripts/api/delete-script-file';
import { useScript } from '@/features/scripts/api/get-script';
import { scriptFileQueryOptions } from '@/features/scripts/api/get-script-file';
import { useSaveScriptFile } from '@/features/scripts/api/save-script-file';
import { RevisionsPanel } from '@/features/scripts/components/revisions-panel';
import { ScriptSettingsForm } from '@/features/scripts/components/script-settings-form';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { parseId, useTab } from '@/hooks/use-tab';
import { leavesFilesOrSettings, useUnsavedChanges } from '@/hooks/use-unsaved-changes';
import { ApiError } from '@/lib/api-client';
import type { Script } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { NotFound } from './not-found';

const TABS = ['files', 'run', 'settings', 'revisions', 'schedules', 'jobs'] as const;

function ScriptPage({ script }: { script: Script }) {
  const navigate = useNavigate();
  const { tab, hrefOf, setTab } = useTab(TABS, 'files');
  const drafts = useFileDrafts();
  const [settingsDirty, setSettingsDirty] = useState(false);
  const [selected, setSelected] = useState<string | null>(script.entry_file);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const image = useImage(script.image_id);
  const save = useSaveScriptFile(script.id);
  const removeFile = useDeleteScriptFile(script.id);
  const remove = useDeleteScript({
    onSuccess: () => {
      allowNavigation();
      navigate('/scripts');
    },
  });
  const allowNavigation = useUnsavedChanges(
    drafts.dirty || settingsDirty,
    leavesFilesOrSettings(drafts.dirty, settingsDirty),
  );
  useDocumentTitle(`Script ${script.name}`);

  const imageData = image.data;
  const blockedReason =
    imageData && imageData.status !== 'built'
      ? `Its image ${imageData.name} is ${imageData.status}: build it before running the script.`
      : null;

  return (
    <>
      <PageHeader
        title={script.name}
        parent={{ to: '/scripts', label: 'Scripts' }}
        meta={
          <span className="tag" data-testid="current-revision">
            revision {script.current_revision}
          </span>
        }
        description={
          <>
            {script.description && <span>{script.description} · </span>}
            Runs <code>{script.entry_file}</code> on{' '}
            {imageData ? (
              <>
                <Link to={`/images/${imageData.id}`}>{imageData.name}</Link>{' '}
                <ImageStatusBadge status={imageData.status} />
              </>
            ) : (
              `image ${script.image_id}`
            )}
          </>
        }
        actions={
          <div className="button-row">
            <Button variant="primary" onClick={() => setTab('run')} data-testid="open-run">
              Run…
            </Button>
            <Button variant="danger" onClick={() => setConfirmDelete(true)}>
              Delete
            </Button>
          </div>
        }
      />
      <Tabs
        label="Script sections"
        current={tab}
        hrefOf={hrefOf}
        tabs={[
          { id: 'files', label: 'Files', count: script.files?.length },
          { id: 'run', label: 'Run' },
          { id: 'settings', label: 'Settings' },
          { id: 'revisions', label: 'Revisions', count: script.current_revision },
          { id: 'schedules', label: 'Schedules' },
          { id: 'jobs', label: 'Jobs' },
        ]}
      />
      {tab === 'files' && (
        <FilesEditor
          files={script.files ?? []}
          drafts={drafts}
          selected={selected}
          onSelect={setSelected}
          fileQuery={(path) => scriptFileQueryOptions(script.id, path)}
          save={(path, content) => save.mutateAsync({ path, content })}
          remove={(path) => removeFile.mutateAsync(path)}
          undeletable={{
            [script.entry_file]:
              'The entry file cannot be deleted; choose another entry file in the settings first.',
          }}
          savedMessage="Saved as a new revision."
        />
      )}
      {tab === 'run' && (
        <RunForm
          script={script}
          blockedReason={blockedReason}
          onStarted={(job) => navigate(`/jobs/${job.id}`)}
        />
      )}
      {tab === 'settings' && (
        <ScriptSettingsForm key={script.id} script={script} onDirtyChange={setSettingsDirty} />
      )}
      {tab === 'revisions' && <RevisionsPanel script={script} />}
      {tab === 'schedules' && <SchedulesPanel scriptId={script.id} />}
      {tab === 'jobs' && <JobHistory scriptId={script.id} />}
      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${script.name}?`}
        confirmLabel="Delete script"
        danger
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => remove.mutate(script.id)}
        onCancel={() => {
          remove.reset();
          setConfirmDelete(false);
        }}
      >
        <p>
          The script, its revisions, jobs, logs and schedules are removed. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}

export function ScriptRoute() {
  const id = parseId(useParams().scriptId);
  const query = useScript(id ?? 0);
  if (id === null) return <NotFound what="This script" />;
  if (query.isPending) return <Loading label="Loading the script…" />;
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404)
      return <NotFound what={`Script ${id}`} />;
    return <Alert>Could not load the script: {describeError(query.error)}</Alert>;
  }
  return <ScriptPage script={query.data} />;
}
