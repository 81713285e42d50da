import { useEffect, useMemo, useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Field, FormError } from '@/components/ui/field';
import { useImageChoices } from '@/features/images/api/get-image-names';
import { ApiError } from '@/lib/api-client';
import type { NetworkMode, Script } from '@/lib/api-types';
import { describeError, placeProblem } from '@/lib/problems';

import { useUpdateScript } from '../api/update-script';
import {
  isUnchanged,
  SETTINGS_FIELDS,
  toPatch,
  toValues,
  type RootChoice,
  type SettingsValues,
} from '../utils/settings-form';

import { EnvEditor } from './env-editor';

const NETWORK_MODES: Array<[NetworkMode, string]> = [
  ['none', 'none (no network)'],
  ['bridge', 'bridge (Docker’s network)'],
  ['host', 'host (the host’s network)'],
];

const ROOT_CHOICES: Array<[RootChoice, string]> = [
  ['default', 'the server’s default (read-only unless configured)'],
  ['read-only', 'read-only (only /tmp is writable)'],
  ['writable', 'writable'],
];

type ScriptSettingsFormProps = {
  script: Script;
  onDirtyChange?: (dirty: boolean) => void;
};

export function ScriptSettingsForm({ script, onDirtyChange }: ScriptSettingsFormProps) {
  const [values, setValues] = useState<SettingsValues>(() => toValues(script));
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const images = useImageChoices();
  const update = useUpdateScript(script.id);
  const dirty = useMemo(() => !isUnchanged(values, script), [values, script]);
  useEffect(() => {
    onDirtyChange?.(dirty);
    // Unmounted (its tab left after the user agreed to drop the edits), the form
    // holds nothing unsaved: the page must stop warning.
    return () => onDirtyChange?.(false);
  }, [dirty, onDirtyChange]);

  const placed =
    update.error instanceof ApiError
      ? placeProblem(update.error.problem, [
          ...SETTINGS_FIELDS,
          ...values.env.flatMap((_, i) => [`env[${i}].name`, `env[${i}].value`, `env[${i}]`]),
        ])
      : null;
  const errors: Record<string, string> = { ...(placed?.fields ?? {}), ...clientErrors };
  const general = update.isError ? (placed ? placed.general : describeError(update.error)) : null;

  const set = <K extends keyof SettingsValues>(key: K, value: SettingsValues[K]) =>
    setValues((current) => ({ ...current, [key]: value }));
  const text = (key: keyof SettingsValues) => ({
    value: values[key] as string,
    onChange: (event: { target: { value: string } }) => set(key, event.target.value as never),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const patch = toPatch(values, script);
    setClientErrors(patch.errors);
    if (Object.keys(patch.errors).length) return;
    update.mutate(patch.body, {
      // The saved script, as the server has it now (secrets: set, not shown).
      onSuccess: (saved) => setValues(toValues(saved)),
    });
  }

  const fileNames = (script.files ?? []).map((file) => file.path);
  const imageList = images.data ?? [];

  return (
    <form className="form form--wide" onSubmit={submit} noValidate data-testid="script-settings">
      <FormError message={general} />
      <div className="form-grid">
        <Field id="settings-name" label="Name" error={errors.name}>
          <input className="input" {...text('name')} autoComplete="off" />
        </Field>
        <Field id="settings-image" label="Image" error={errors.image_id}>
          <select
            className="input"
            value={values.image_id}
            onChange={(event) => set('image_id', event.target.value)}
          >
            {!imageList.some((image) => String(image.id) === values.image_id) && (
              <option value={values.image_id}>image {values.image_id}</option>
            )}
            {imageList.map((image) => (
              <option key={image.id} value={image.id}>
                {image.name} ({image.status})
              </option>
            ))}
          </select>
        </Field>
        <Field
          id="settings-description"
          label="Description"
          error={errors.description}
          className="form-grid__wide"
        >
          <input className="input" {...text('description')} />
        </Field>
        <Field
          id="settings-entry"
          label="Entry file"
          error={errors.entry_file}
          hint="The file python runs."
        >
          <input
            className="input mono"
            {...text('entry_file')}
            list="settings-entry-files"
            autoComplete="off"
          />
        </Field>
        <datalist id="settings-entry-files">
          {fileNames.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        <Field
          id="settings-args"
          label="Default arguments"
          error={errors.args}
          hint="One per line, passed as they are (no shell)."
        >
          <textarea className="input mono" rows={3} {...text('args')} spellCheck={false} />
        </Field>
      </div>

      <fieldset className="fieldset">
        <legend>Environment</legend>
        <p className="field__hint">
          Secret values are stored on the server and never shown again; leave one empty to keep it.
        </p>
        <EnvEditor
          rows={values.env}
          onChange={(rows) => set('env', rows)}
          errors={errors}
          idPrefix="settings"
        />
      </fieldset>

      <fieldset className="fieldset">
        <legend>Limits</legend>
        <p className="field__hint">Empty means no limit.</p>
        <div className="form-grid form-grid--thirds">
          <Field
            id="settings-memory"
            label="Memory (MB)"
            error={errors['limits.memory_mb'] ?? errors.limits}
          >
            <input className="input" inputMode="numeric" {...text('memory_mb')} />
          </Field>
          <Field id="settings-cpus" label="CPUs" error={errors['limits.cpus']}>
            <input className="input" inputMode="decimal" {...text('cpus')} />
          </Field>
          <Field id="settings-pids" label="Processes" error={errors['limits.pids']}>
            <input className="input" inputMode="numeric" {...text('pids')} />
          </Field>
          <Field id="settings-timeout" label="Timeout (seconds)" error={errors.timeout_seconds}>
            <input className="input" inputMode="numeric" {...text('timeout_seconds')} />
          </Field>
          <Field id="settings-network" label="Network" error={errors.network_mode}>
            <select
              className="input"
              value={values.network_mode}
              onChange={(event) => set('network_mode', event.target.value as NetworkMode)}
            >
              {NETWORK_MODES.map(([mode, label]) => (
                <option key={mode} value={mode}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field
            id="settings-log-limit"
            label="Log limit (bytes)"
            error={errors.log_limit_bytes}
            hint="Empty: the server’s default."
          >
            <input className="input" inputMode="numeric" {...text('log_limit_bytes')} />
          </Field>
          <Field
            id="settings-root"
            label="Root file system"
            error={errors.read_only_root}
            hint="/tmp is writable either way."
          >
            <select
              className="input"
              value={values.root}
              onChange={(event) => set('root', event.target.value as RootChoice)}
              data-testid="settings-root"
            >
              {ROOT_CHOICES.map(([choice, label]) => (
                <option key={choice} value={choice}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
        </div>
      </fieldset>

      <fieldset className="fieldset">
        <legend>Job retention</legend>
        <p className="field__hint">
          Older jobs and their logs are removed; empty: the server’s default.
        </p>
        <div className="form-grid form-grid--thirds">
          <Field id="settings-keep-last" label="Keep the last N jobs" error={errors.keep_last}>
            <input className="input" inputMode="numeric" {...text('keep_last')} />
          </Field>
          <Field id="settings-keep-days" label="Keep jobs for N days" error={errors.keep_days}>
            <input className="input" inputMode="numeric" {...text('keep_days')} />
          </Field>
        </div>
      </fieldset>

      <div className="button-row sticky-actions">
        <Button
          type="submit"
          variant="primary"
          disabled={!dirty}
          busy={update.isPending}
          data-testid="save-settings"
        >
          Save settings
        </Button>
        <Button
          onClick={() => {
            setValues(toValues(script));
            setClientErrors({});
            update.reset();
          }}
          disabled={!dirty}
        >
          Discard changes
        </Button>
        {update.isSuccess && !dirty && (
          <span className="save-note" role="status" data-testid="settings-saved">
            Saved: revision {script.current_revision}.
          </span>
        )}
      </div>
    </form>
  );
}
