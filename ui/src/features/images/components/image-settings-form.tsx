import { useEffect, useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Field, FormError } from '@/components/ui/field';
import { ApiError } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';
import { formatDateTime } from '@/lib/format';
import { describeError, placeProblem } from '@/lib/problems';

import { useUpdateImage } from '../api/update-image';

/** Name and description: editable in any status. */
export function ImageSettingsForm({
  image,
  onDirtyChange,
}: {
  image: Image;
  onDirtyChange?: (dirty: boolean) => void;
}) {
  const [name, setName] = useState(image.name);
  const [description, setDescription] = useState(image.description);
  const update = useUpdateImage(image.id);
  const dirty = name !== image.name || description !== image.description;
  useEffect(() => {
    onDirtyChange?.(dirty);
    // Unmounted (its tab left after the user agreed to drop the edits), the form
    // holds nothing unsaved: the page must stop warning.
    return () => onDirtyChange?.(false);
  }, [dirty, onDirtyChange]);
  const placed =
    update.error instanceof ApiError
      ? placeProblem(update.error.problem, ['name', 'description'])
      : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    update.mutate({
      ...(name !== image.name ? { name: name.trim() } : {}),
      ...(description !== image.description ? { description } : {}),
    });
  }

  return (
    <div className="two-columns">
      <form className="form" onSubmit={submit} noValidate data-testid="image-settings">
        <FormError
          message={update.isError ? (placed ? placed.general : describeError(update.error)) : null}
        />
        <Field id="image-name" label="Name" error={placed?.fields.name}>
          <input
            className="input"
            value={name}
            onChange={(event) => setName(event.target.value)}
            autoComplete="off"
          />
        </Field>
        <Field id="image-description" label="Description" error={placed?.fields.description}>
          <input
            className="input"
            value={description}
            onChange={(event) => setDescription(event.target.value)}
          />
        </Field>
        <div className="button-row">
          <Button type="submit" variant="primary" disabled={!dirty} busy={update.isPending}>
            Save
          </Button>
          {update.isSuccess && !dirty && (
            <span className="save-note" role="status">
              Saved.
            </span>
          )}
        </div>
      </form>
      <dl className="facts">
        <div className="facts__item">
          <dt>Docker tag</dt>
          <dd>{image.tag ? <code>{image.tag}</code> : '—'}</dd>
        </div>
        <div className="facts__item">
          <dt>Docker image</dt>
          <dd className="break">
            {image.docker_image_id ? <code>{image.docker_image_id.slice(0, 19)}</code> : '—'}
          </dd>
        </div>
        <div className="facts__item">
          <dt>Build started</dt>
          <dd>{formatDateTime(image.build_started_at)}</dd>
        </div>
        <div className="facts__item">
          <dt>Build finished</dt>
          <dd>{formatDateTime(image.build_finished_at)}</dd>
        </div>
        <div className="facts__item">
          <dt>Created</dt>
          <dd>{formatDateTime(image.created_at)}</dd>
        </div>
      </dl>
    </div>
  );
}
