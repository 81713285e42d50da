import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';

import { FilesEditor } from '@/components/files-editor/files-editor';
import { useFileDrafts } from '@/components/files-editor/use-file-drafts';
import { PageHeader } from '@/components/layouts/page-header';
import { Alert } from '@/components/ui/alert';
import { Loading } from '@/components/ui/loading';
import { Tabs } from '@/components/ui/tabs';
import { useDeleteImageFile } from '@/features/images/api/delete-image-file';
import { useImage } from '@/features/images/api/get-image';
import { imageFileQueryOptions } from '@/features/images/api/get-image-file';
import { useSaveImageFile } from '@/features/images/api/save-image-file';
import { ImageActions } from '@/features/images/components/image-actions';
import { ImageBuildLog } from '@/features/images/components/image-build-log';
import { ImageSettingsForm } from '@/features/images/components/image-settings-form';
import {
  filesReadOnlyReason,
  ImageStatusBadge,
} from '@/features/images/components/image-status-badge';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { parseId, useTab } from '@/hooks/use-tab';
import { leavesFilesOrSettings, useUnsavedChanges } from '@/hooks/use-unsaved-changes';
import { ApiError } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { NotFound } from './not-found';

const TABS = ['files', 'build', 'settings'] as const;

function ImagePage({ image }: { image: Image }) {
  const navigate = useNavigate();
  const { tab, hrefOf, setTab } = useTab(TABS, 'files');
  const drafts = useFileDrafts();
  const [settingsDirty, setSettingsDirty] = useState(false);
  const [selected, setSelected] = useState<string | null>('Dockerfile');
  const save = useSaveImageFile(image.id);
  const remove = useDeleteImageFile(image.id);
  const allowNavigation = useUnsavedChanges(
    drafts.dirty || settingsDirty,
    leavesFilesOrSettings(drafts.dirty, settingsDirty),
  );
  useDocumentTitle(`Image ${image.name}`);

  return (
    <>
      <PageHeader
        title={image.name}
        parent={{ to: '/images', label: 'Images' }}
        meta={<ImageStatusBadge status={image.status} testId="image-status" />}
        description={image.description || undefined}
        actions={
          <ImageActions
            image={image}
            unsavedFiles={drafts.dirty}
            onBuildStarted={() => setTab('build')}
            onDeleted={() => {
              allowNavigation();
              navigate('/images');
            }}
          />
        }
      />
      {image.status === 'failed' && image.error && (
        <Alert testId="image-error">
          <strong>The last build failed:</strong> {image.error}
        </Alert>
      )}
      <Tabs
        label="Image sections"
        current={tab}
        hrefOf={hrefOf}
        tabs={[
          { id: 'files', label: 'Files', count: image.files?.length },
          { id: 'build', label: 'Build log' },
          { id: 'settings', label: 'Settings' },
        ]}
      />
      {tab === 'files' && (
        <FilesEditor
          files={image.files ?? []}
          drafts={drafts}
          selected={selected}
          onSelect={setSelected}
          fileQuery={(path) => imageFileQueryOptions(image.id, path)}
          save={(path, content) => save.mutateAsync({ path, content })}
          remove={(path) => remove.mutateAsync(path)}
          readOnlyReason={filesReadOnlyReason(image.status, image.files_editable)}
          undeletable={{ Dockerfile: 'The Dockerfile cannot be deleted; edit it instead.' }}
        />
      )}
      {tab === 'build' && (
        <ImageBuildLog key={`${image.id}-${image.build_started_at ?? 'none'}`} image={image} />
      )}
      {tab === 'settings' && (
        <ImageSettingsForm key={image.id} image={image} onDirtyChange={setSettingsDirty} />
      )}
    </>
  );
}

export function ImageRoute() {
  const id = parseId(useParams().imageId);
  const query = useImage(id ?? 0);
  if (id === null) return <NotFound what="This image" />;
  if (query.isPending) return <Loading label="Loading the image…" />;
  if (query.isError) {
    if (query.error instanceof ApiError && query.error.status === 404)
      return <NotFound what={`Image ${id}`} />;
    return <Alert>Could not load the image: {describeError(query.error)}</Alert>;
  }
  return <ImagePage image={query.data} />;
}
