import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { CodeEditor } from '@/components/ui/code-editor';
import { Field, FormError } from '@/components/ui/field';
import { Loading } from '@/components/ui/loading';
import { ApiError } from '@/lib/api-client';
import type { Image } from '@/lib/api-types';
import { describeError, placeProblem } from '@/lib/problems';

import { useCreateImage } from '../api/create-image';
import { useImageDefaults } from '../api/get-image-defaults';
import { imageCreateBody, shownText } from '../utils/image-create';

const FIELDS = ['name', 'description', 'dockerfile', 'requirements', 'files'];

type ImageCreateFormProps = {
  onCreated: (image: Image) => void;
  onDirtyChange?: (dirty: boolean) => void;
};

/**
 * Name, description, requirements.txt and the Dockerfile. The server's default
 * Dockerfile (its configured base image, a venv, pip install -r requirements.txt,
 * from `GET /api/images/defaults`) is shown and used unless the user writes their
 * own, which starts from it.
 */
export function ImageCreateForm({ onCreated, onDirtyChange }: ImageCreateFormProps) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  // null: not edited, the server's default shows (it may arrive after the first render).
  const [requirements, setRequirements] = useState<string | null>(null);
  const [customDockerfile, setCustomDockerfile] = useState(false);
  const [dockerfile, setDockerfile] = useState<string | null>(null);
  const defaults = useImageDefaults();
  const create = useCreateImage({
    onSuccess: (image) => {
      onDirtyChange?.(false);
      onCreated(image);
    },
  });
  const placed =
    create.error instanceof ApiError ? placeProblem(create.error.problem, FIELDS) : null;
  const general = create.isError ? (placed ? placed.general : describeError(create.error)) : null;
  const errors = placed?.fields ?? {};

  const touch = () => onDirtyChange?.(true);

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(
      imageCreateBody(
        { name, description, requirements, customDockerfile, dockerfile },
        defaults.data,
      ),
    );
  }

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="image-form">
      <FormError message={general} />
      <Field
        id="image-name"
        label="Name"
        error={errors.name}
        hint="Letters, digits, '-', '_' and '.'; it becomes part of the Docker tag."
      >
        <input
          className="input"
          value={name}
          onChange={(event) => {
            setName(event.target.value);
            touch();
          }}
          autoComplete="off"
          required
        />
      </Field>
      <Field id="image-description" label="Description" error={errors.description}>
        <input
          className="input"
          value={description}
          onChange={(event) => {
            setDescription(event.target.value);
            touch();
          }}
        />
      </Field>
      <div className={`field${errors.requirements ? ' field--invalid' : ''}`}>
        <span className="field__label" id="image-requirements-label">
          requirements.txt
        </span>
        <p className="field__hint">One package per line, as pip reads it. May stay empty.</p>
        <div className="editor-box editor-box--small" aria-labelledby="image-requirements-label">
          <CodeEditor
            path="requirements.txt"
            value={shownText(requirements, defaults.data?.requirements)}
            onChange={(value) => {
              setRequirements(value);
              touch();
            }}
          />
        </div>
        {errors.requirements && (
          <p className="field__error" data-testid="error-image-requirements">
            {errors.requirements}
          </p>
        )}
      </div>
      <fieldset className="fieldset">
        <legend>Dockerfile</legend>
        <label className="choice">
          <input
            type="radio"
            name="dockerfile"
            checked={!customDockerfile}
            onChange={() => setCustomDockerfile(false)}
          />
          <span>
            <strong>The default Dockerfile</strong>
            <span className="muted block">
              {defaults.data ? (
                <>
                  <code>FROM {defaults.data.base_image}</code> (the server’s base image)
                </>
              ) : (
                'The server’s base Python image'
              )}
              , a virtual environment in /opt/venv and <code>pip install -r requirements.txt</code>.
              You can edit it after creating the image.
            </span>
          </span>
        </label>
        <label className="choice">
          <input
            type="radio"
            name="dockerfile"
            checked={customDockerfile}
            onChange={() => setCustomDockerfile(true)}
          />
          <span>
            <strong>My own Dockerfile</strong>
          </span>
        </label>
        {defaults.isError && (
          <Alert tone={customDockerfile ? 'warning' : 'error'} testId="image-defaults-error">
            Could not load the server’s default Dockerfile: {describeError(defaults.error)}
          </Alert>
        )}
        {customDockerfile ? (
          // Starts from the default; while it is loading there is nothing to start from.
          defaults.isPending && dockerfile === null ? (
            <Loading label="Loading the default Dockerfile…" />
          ) : (
            <div className="editor-box" data-testid="image-dockerfile-editor">
              <CodeEditor
                key="custom"
                path="Dockerfile"
                value={shownText(dockerfile, defaults.data?.dockerfile)}
                onChange={(value) => {
                  setDockerfile(value);
                  touch();
                }}
              />
            </div>
          )
        ) : (
          defaults.data && (
            <div className="editor-box" data-testid="image-default-dockerfile">
              <CodeEditor
                key="default"
                path="Dockerfile"
                value={defaults.data.dockerfile}
                readOnly
              />
            </div>
          )
        )}
        {errors.dockerfile && (
          <p className="field__error" data-testid="error-image-dockerfile">
            {errors.dockerfile}
          </p>
        )}
      </fieldset>
      <div className="button-row">
        <Button type="submit" variant="primary" busy={create.isPending} data-testid="create-image">
          Create image
        </Button>
        <Link to="/images" className="button button--ghost">
          Cancel
        </Link>
      </div>
    </form>
  );
}
