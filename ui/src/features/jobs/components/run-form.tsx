import { useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Field, FormError } from '@/components/ui/field';
import { EnvEditor } from '@/features/scripts/components/env-editor';
import { parseArgs, type EnvRow } from '@/features/scripts/utils/settings-form';
import { ApiError } from '@/lib/api-client';
import type { Job, Script } from '@/lib/api-types';
import { describeError, placeProblem } from '@/lib/problems';

import { useRunScript } from '../api/run-script';

/** The environment of one run, as the API takes it (later rows win). */
export function runEnv(rows: EnvRow[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const row of rows) if (row.name.trim()) env[row.name.trim()] = row.value;
  return env;
}

type RunFormProps = {
  script: Script;
  /** Whether the script's image can run it now (built), and why not. */
  blockedReason: string | null;
  onStarted: (job: Job) => void;
};

/** Runs the script's current revision now, with its default arguments or others. */
export function RunForm({ script, blockedReason, onStarted }: RunFormProps) {
  const [useDefaults, setUseDefaults] = useState(true);
  const [args, setArgs] = useState(script.args.join('\n'));
  const [env, setEnv] = useState<EnvRow[]>([]);
  const run = useRunScript(script.id, { onSuccess: onStarted });
  const placed =
    run.error instanceof ApiError
      ? placeProblem(run.error.problem, ['args', 'env', 'trigger'])
      : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    run.mutate({ ...(useDefaults ? {} : { args: parseArgs(args) }), env: runEnv(env) });
  }

  return (
    <form className="form" onSubmit={submit} data-testid="run-form">
      <FormError
        message={run.isError ? (placed ? placed.general : describeError(run.error)) : null}
      />
      {blockedReason && (
        <p className="readonly-note" data-testid="run-blocked">
          {blockedReason}
        </p>
      )}
      <fieldset className="fieldset">
        <legend>Arguments</legend>
        <label className="choice">
          <input
            type="radio"
            name="run-args"
            checked={useDefaults}
            onChange={() => setUseDefaults(true)}
          />
          <span>
            The script’s default arguments:{' '}
            {script.args.length ? (
              <code>{script.args.join(' ')}</code>
            ) : (
              <span className="muted">none</span>
            )}
          </span>
        </label>
        <label className="choice">
          <input
            type="radio"
            name="run-args"
            checked={!useDefaults}
            onChange={() => setUseDefaults(false)}
          />
          <span>Other arguments for this run</span>
        </label>
        {!useDefaults && (
          <Field
            id="run-args"
            label="Arguments"
            error={placed?.fields.args}
            hint="One per line, passed as they are (no shell)."
          >
            <textarea
              className="input mono"
              rows={3}
              value={args}
              onChange={(event) => setArgs(event.target.value)}
              spellCheck={false}
            />
          </Field>
        )}
      </fieldset>
      <fieldset className="fieldset">
        <legend>Extra environment</legend>
        <p className="field__hint">
          Added to the script’s variables for this run only (a name given here wins).
        </p>
        <EnvEditor
          rows={env}
          onChange={setEnv}
          errors={placed?.fields ?? {}}
          idPrefix="run"
          secrets={false}
        />
      </fieldset>
      <div className="button-row">
        <Button type="submit" variant="primary" busy={run.isPending} data-testid="run-now">
          Run now
        </Button>
        <span className="muted">Revision {script.current_revision}</span>
      </div>
    </form>
  );
}
