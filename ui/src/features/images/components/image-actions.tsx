import { useState } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import type { Image } from '@/lib/api-types';
import { describeError } from '@/lib/problems';

import { useBuildImage } from '../api/build-image';
import { useDeleteImage } from '../api/delete-image';
import { useDestroyImage } from '../api/destroy-image';

type ImageActionsProps = {
  image: Image;
  onBuildStarted: () => void;
  onDeleted: () => void;
  /** Unsaved file edits would not be in the build. */
  unsavedFiles: boolean;
};

export function ImageActions({
  image,
  onBuildStarted,
  onDeleted,
  unsavedFiles,
}: ImageActionsProps) {
  const build = useBuildImage(image.id);
  const destroy = useDestroyImage(image.id);
  const remove = useDeleteImage({ onSuccess: onDeleted });
  const [confirm, setConfirm] = useState<'destroy' | 'delete' | null>(null);
  const building = image.status === 'building';
  const error = build.isError
    ? build.error
    : destroy.isError && confirm === null
      ? destroy.error
      : null;

  return (
    <>
      <div className="button-row">
        <Button
          variant="primary"
          onClick={() => build.mutate(undefined, { onSuccess: onBuildStarted })}
          disabled={building}
          busy={build.isPending}
          title={
            unsavedFiles
              ? 'Some files have unsaved changes: save them first, or the build uses the saved versions'
              : undefined
          }
          data-testid="build-image"
        >
          {building ? 'Building…' : image.status === 'built' ? 'Rebuild' : 'Build'}
        </Button>
        {image.status === 'built' && (
          <Button onClick={() => setConfirm('destroy')} data-testid="destroy-image">
            Destroy
          </Button>
        )}
        <Button
          variant="danger"
          onClick={() => setConfirm('delete')}
          disabled={building}
          data-testid="delete-image"
        >
          Delete
        </Button>
      </div>
      {error !== null && <Alert testId="image-action-error">{describeError(error)}</Alert>}
      <ConfirmDialog
        open={confirm === 'destroy'}
        title={`Destroy the Docker image of ${image.name}?`}
        confirmLabel="Destroy"
        danger
        busy={destroy.isPending}
        error={destroy.isError ? describeError(destroy.error) : null}
        onConfirm={() => destroy.mutate(undefined, { onSuccess: () => setConfirm(null) })}
        onCancel={() => setConfirm(null)}
      >
        <p>
          The Docker image <code>{image.tag}</code> is removed; the definition and its files stay,
          and become editable. Scripts on this image cannot run until it is built again.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'delete'}
        title={`Delete ${image.name}?`}
        confirmLabel="Delete image"
        danger
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => remove.mutate(image.id)}
        onCancel={() => {
          remove.reset();
          setConfirm(null);
        }}
      >
        <p>
          The definition, its files, its build log and its Docker image are removed. This cannot be
          undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
