import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';

import { Button } from '@/components/ui/button';
import { CodeEditor } from '@/components/ui/code-editor';
import { Field, FormError } from '@/components/ui/field';
import { useImageChoices } from '@/features/images/api/get-image-names';
import { ApiError } from '@/lib/api-client';
import type { Script } from '@/lib/api-types';
import { describeError, placeProblem } from '@/lib/problems';

import { useCreateScript } from '../api/create-script';

const FIELDS = ['name', 'description', 'image_id', 'entry_file', 'files'];
export const STARTER = 'import sys\n\nprint("Hello from Scripter!", *sys.argv[1:])\n';

type ScriptCreateFormProps = {
  initialImageId?: number;
  onCreated: (script: Script) => void;
  onDirtyChange?: (dirty: boolean) => void;
};

export function ScriptCreateForm({
  initialImageId,
  onCreated,
  onDirtyChange,
}: ScriptCreateFormProps) {
  const images = useImageChoices();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [imageId, setImageId] = useState(initialImageId ? String(initialImageId) : '');
  const [entryFile, setEntryFile] = useState('main.py');
  const [code, setCode] = useState(STARTER);
  const create = useCreateScript({
    onSuccess: (script) => {
      onDirtyChange?.(false);
      onCreated(script);
    },
  });
  const placed =
    create.error instanceof ApiError ? placeProblem(create.error.problem, FIELDS) : null;
  // A problem with the file comes as `files.<path>`: it belongs to the editor.
  const errors: Record<string, string> = placed?.fields ?? {};
  const [clientError, setClientError] = useState<string | null>(null);
  const touch = () => onDirtyChange?.(true);
  const imageList = images.data ?? [];
  const selectedImage = imageList.find((image) => String(image.id) === imageId);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!imageId) {
      setClientError('Choose the image the script runs on.');
      return;
    }
    setClientError(null);
    create.mutate({
      name: name.trim(),
      description,
      image_id: Number(imageId),
      entry_file: entryFile.trim(),
      files: [{ path: entryFile.trim(), content: code, encoding: 'utf-8' }],
    });
  }

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="script-form">
      <FormError
        message={create.isError ? (placed ? placed.general : describeError(create.error)) : null}
      />
      <Field id="script-name" label="Name" error={errors.name}>
        <input
          className="input"
          value={name}
          onChange={(event) => {
            setName(event.target.value);
            touch();
          }}
          autoComplete="off"
        />
      </Field>
      <Field id="script-description" label="Description" error={errors.description}>
        <input
          className="input"
          value={description}
          onChange={(event) => {
            setDescription(event.target.value);
            touch();
          }}
        />
      </Field>
      <Field
        id="script-image"
        label="Image"
        error={errors.image_id ?? clientError}
        hint={
          selectedImage && selectedImage.status !== 'built'
            ? `This image is ${selectedImage.status}: build it before running the script.`
            : imageList.length === 0 && !images.isPending
              ? 'No image yet: create one first.'
              : undefined
        }
      >
        <select
          className="input"
          value={imageId}
          onChange={(event) => {
            setImageId(event.target.value);
            touch();
          }}
        >
          <option value="">Choose an image…</option>
          {imageList.map((image) => (
            <option key={image.id} value={image.id}>
              {image.name} ({image.status})
            </option>
          ))}
        </select>
      </Field>
      <Field id="script-entry" label="Entry file" error={errors.entry_file}>
        <input
          className="input mono"
          value={entryFile}
          onChange={(event) => {
            setEntryFile(event.target.value);
            touch();
          }}
          autoComplete="off"
        />
      </Field>
      <div className={`field${errors.files ? ' field--invalid' : ''}`}>
        <span className="field__label">{entryFile || 'main.py'}</span>
        <div className="editor-box">
          <CodeEditor
            path={entryFile || 'main.py'}
            value={code}
            onChange={(value) => {
              setCode(value);
              touch();
            }}
          />
        </div>
        {errors.files && <p className="field__error">{errors.files}</p>}
      </div>
      <div className="button-row">
        <Button type="submit" variant="primary" busy={create.isPending} data-testid="create-script">
          Create script
        </Button>
        <Link to="/scripts" className="button button--ghost">
          Cancel
        </Link>
      </div>
    </form>
  );
}
