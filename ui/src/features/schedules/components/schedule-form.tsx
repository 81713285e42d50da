import { useMemo, useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Field, FormError } from '@/components/ui/field';
import { EnvEditor } from '@/features/scripts/components/env-editor';
import { parseArgs, type EnvRow } from '@/features/scripts/utils/settings-form';
import { useDebounced } from '@/hooks/use-debounced';
import { ApiError } from '@/lib/api-client';
import { formatDateTime, formatRelative } from '@/lib/format';
import type { MisfirePolicy, OverlapPolicy, Schedule } from '@/lib/api-types';
import { describeError, placeProblem } from '@/lib/problems';

import { useSchedulePreview } from '../api/preview-schedule';
import {
  CRON_PRESETS,
  localTimeZone,
  MISFIRE_POLICIES,
  OVERLAP_POLICIES,
  timeZones,
} from '../utils/policies';
import {
  scheduleEnvBody,
  scheduleEnvErrors,
  scheduleEnvRows,
  type ScheduleEnv,
} from '../utils/schedule-env';

const FIELDS = ['cron', 'timezone', 'enabled', 'misfire_policy', 'overlap_policy', 'args', 'env'];

/** What the form sends: a whole schedule, good for a POST and a PATCH alike. */
export type ScheduleValues = {
  cron: string;
  timezone: string;
  enabled: boolean;
  misfire_policy: MisfirePolicy;
  overlap_policy: OverlapPolicy;
  /** null: the script's own default arguments. */
  args: string[] | null;
  /** null: keep the stored value of an override of a secret variable (never shown). */
  env: ScheduleEnv;
};

type ScheduleFormProps = {
  /** Prefix of the form's element ids: `schedule-new`, `schedule-3`. */
  idPrefix: string;
  initial?: Schedule;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  onSubmit: (values: ScheduleValues) => void;
  onCancel: () => void;
};

/** The next fire times of what is typed, before anything is saved. */
function Preview({ cron, timezone }: { cron: string; timezone: string }) {
  const preview = useSchedulePreview(cron, timezone, 5);
  if (!cron.trim()) return <p className="muted">Type a cron expression to see when it runs.</p>;
  if (preview.isError) return null; // shown next to the field at fault
  if (!preview.data) return <p className="muted">Working out the next runs…</p>;
  return (
    <div aria-live="polite" data-testid="schedule-preview">
      {preview.data.description && <p className="preview__words">{preview.data.description}</p>}
      <ol className="preview">
        {preview.data.fire_times.map((time) => (
          <li key={time.utc}>
            <time dateTime={time.local}>{formatDateTime(time.utc, preview.data.timezone)}</time>{' '}
            <span className="muted">({formatRelative(time.utc)})</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function ScheduleForm({
  idPrefix: id,
  initial,
  submitLabel,
  busy,
  error,
  onSubmit,
  onCancel,
}: ScheduleFormProps) {
  const [cron, setCron] = useState(initial?.cron ?? '0 6 * * *');
  const [timezone, setTimezone] = useState(initial?.timezone ?? localTimeZone());
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const [misfire, setMisfire] = useState<MisfirePolicy>(initial?.misfire_policy ?? 'skip');
  const [overlap, setOverlap] = useState<OverlapPolicy>(initial?.overlap_policy ?? 'allow');
  // null: the script's own default arguments.
  const [ownArgs, setOwnArgs] = useState(initial?.args != null);
  const [args, setArgs] = useState((initial?.args ?? []).join('\n'));
  const [env, setEnv] = useState<EnvRow[]>(() => scheduleEnvRows(initial?.env));
  const zones = useMemo(timeZones, []);
  const previewCron = useDebounced(cron, 400);
  const previewZone = useDebounced(timezone, 400);
  const preview = useSchedulePreview(previewCron, previewZone, 5);

  // Errors of saving, else of the preview (an invalid cron shows before saving).
  const source = error ?? (preview.isError ? preview.error : null);
  // The server names an override `env.NAME`: each row's name is a field of its own.
  const envFields = env.filter((row) => row.name.trim()).map((row) => `env.${row.name.trim()}`);
  const placed =
    source instanceof ApiError ? placeProblem(source.problem, [...FIELDS, ...envFields]) : null;
  const general = error ? (placed ? placed.general : describeError(error)) : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit({
      cron: cron.trim(),
      timezone: timezone.trim(),
      enabled,
      misfire_policy: misfire,
      overlap_policy: overlap,
      args: ownArgs ? parseArgs(args) : null,
      env: scheduleEnvBody(env),
    });
  }

  return (
    <form className="form schedule-form" onSubmit={submit} noValidate data-testid="schedule-form">
      <FormError message={general} />
      <div className="schedule-form__column">
        <div className="form-grid">
          <Field
            id={`${id}-cron`}
            label="Cron expression"
            error={placed?.fields.cron}
            hint="minute hour day-of-month month day-of-week; a sixth field in front for seconds."
          >
            <input
              className="input mono"
              value={cron}
              onChange={(event) => setCron(event.target.value)}
              spellCheck={false}
              autoComplete="off"
            />
          </Field>
          <Field
            id={`${id}-timezone`}
            label="Timezone"
            error={placed?.fields.timezone}
            hint="The times above are in this zone."
          >
            <input
              className="input"
              value={timezone}
              onChange={(event) => setTimezone(event.target.value)}
              list={`${id}-zones`}
              autoComplete="off"
            />
          </Field>
          <datalist id={`${id}-zones`}>
            {zones.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </div>
        <div className="presets" role="group" aria-label="Common schedules">
          {CRON_PRESETS.map((preset) => (
            <Button
              key={preset.cron}
              variant="ghost"
              onClick={() => setCron(preset.cron)}
              aria-pressed={cron === preset.cron}
            >
              {preset.label}
            </Button>
          ))}
        </div>
        <div className="preview-box">
          <h3 className="subheading">Next runs</h3>
          <Preview cron={previewCron} timezone={previewZone} />
        </div>
        <fieldset className="fieldset">
          <legend>Arguments</legend>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-args-mode`}
              checked={!ownArgs}
              onChange={() => setOwnArgs(false)}
            />
            <span>The script’s default arguments (as they are when it fires)</span>
          </label>
          <label className="choice">
            <input
              type="radio"
              name={`${id}-args-mode`}
              checked={ownArgs}
              onChange={() => setOwnArgs(true)}
            />
            <span>Arguments of this schedule</span>
          </label>
          {ownArgs && (
            <Field
              id={`${id}-args`}
              label="Arguments"
              error={placed?.fields.args}
              hint="One per line; empty: none."
            >
              <textarea
                className="input mono"
                rows={2}
                value={args}
                onChange={(event) => setArgs(event.target.value)}
                spellCheck={false}
              />
            </Field>
          )}
        </fieldset>
        <fieldset className="fieldset">
          <legend>Environment</legend>
          <p className="field__hint">
            Added to (or replacing) the script’s variables in this schedule’s runs. A secret
            variable’s value here is never shown: it is kept unless you type a new one.
          </p>
          <EnvEditor
            rows={env}
            onChange={setEnv}
            errors={scheduleEnvErrors(placed?.fields, env)}
            idPrefix={id}
            secrets={false}
          />
        </fieldset>
        <label className="choice">
          <input
            type="checkbox"
            checked={enabled}
            onChange={(event) => setEnabled(event.target.checked)}
          />
          <span>Enabled</span>
        </label>
      </div>
      <div className="schedule-form__column">
        <fieldset className="fieldset">
          <legend>When runs were missed (Scripter was down)</legend>
          {MISFIRE_POLICIES.map((policy) => (
            <label key={policy.value} className="choice">
              <input
                type="radio"
                name={`${id}-misfire`}
                checked={misfire === policy.value}
                onChange={() => setMisfire(policy.value)}
              />
              <span>
                <strong>{policy.label}</strong>
                <span className="muted block">{policy.explanation}</span>
              </span>
            </label>
          ))}
          {placed?.fields.misfire_policy && (
            <p className="field__error">{placed.fields.misfire_policy}</p>
          )}
        </fieldset>
        <fieldset className="fieldset">
          <legend>When the last run is still running</legend>
          {OVERLAP_POLICIES.map((policy) => (
            <label key={policy.value} className="choice">
              <input
                type="radio"
                name={`${id}-overlap`}
                checked={overlap === policy.value}
                onChange={() => setOverlap(policy.value)}
              />
              <span>
                <strong>{policy.label}</strong>
                <span className="muted block">{policy.explanation}</span>
              </span>
            </label>
          ))}
          {placed?.fields.overlap_policy && (
            <p className="field__error">{placed.fields.overlap_policy}</p>
          )}
        </fieldset>
      </div>
      <div className="button-row">
        <Button type="submit" variant="primary" busy={busy} data-testid="save-schedule">
          {submitLabel}
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
