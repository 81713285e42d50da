import { Button } from '@/components/ui/button';

import { newEnvRow, type EnvRow } from '../utils/settings-form';

type EnvEditorProps = {
  rows: EnvRow[];
  onChange: (rows: EnvRow[]) => void;
  /** Messages by field (`env[0].name`, `env`). */
  errors: Record<string, string>;
  idPrefix: string;
  /** Allow marking secrets (the script's settings) or not (a run, a schedule). */
  secrets?: boolean;
};

/**
 * Environment variables. A secret's value is write-only: the server never sends
 * it, so a stored secret shows as set, and stays as it is unless a new value is typed.
 * Where rows cannot be marked secret, a stored one still can come from the server (a
 * schedule's override of a secret variable): it is labelled instead.
 */
export function EnvEditor({ rows, onChange, errors, idPrefix, secrets = true }: EnvEditorProps) {
  const update = (index: number, change: Partial<EnvRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <div className="env-editor" data-testid={`${idPrefix}-env`}>
      {rows.length === 0 && <p className="muted">No variables.</p>}
      {rows.map((row, index) => {
        const nameError = errors[`env[${index}].name`] ?? errors[`env[${index}]`];
        const valueError = errors[`env[${index}].value`];
        return (
          <div key={row.key} className="env-row" data-testid={`${idPrefix}-env-row-${index}`}>
            <div className="env-row__name">
              <label className="visually-hidden" htmlFor={`${idPrefix}-env-${index}-name`}>
                Name of variable {index + 1}
              </label>
              <input
                id={`${idPrefix}-env-${index}-name`}
                className="input mono"
                placeholder="NAME"
                value={row.name}
                aria-invalid={nameError ? true : undefined}
                aria-describedby={nameError ? `${idPrefix}-env-${index}-name-error` : undefined}
                onChange={(event) => update(index, { name: event.target.value })}
                autoComplete="off"
                spellCheck={false}
              />
              {nameError && (
                <p
                  className="field__error"
                  id={`${idPrefix}-env-${index}-name-error`}
                  data-testid={`error-${idPrefix}-env-${index}-name`}
                >
                  {nameError}
                </p>
              )}
            </div>
            <div className="env-row__value">
              <label className="visually-hidden" htmlFor={`${idPrefix}-env-${index}-value`}>
                Value of variable {index + 1}
              </label>
              <input
                id={`${idPrefix}-env-${index}-value`}
                className="input mono"
                type={row.secret ? 'password' : 'text'}
                placeholder={row.stored ? '•••••• set; type to replace' : 'value'}
                value={row.value}
                aria-invalid={valueError ? true : undefined}
                onChange={(event) => update(index, { value: event.target.value })}
                autoComplete={row.secret ? 'new-password' : 'off'}
                spellCheck={false}
              />
              {valueError && <p className="field__error">{valueError}</p>}
            </div>
            {/* Always there without the checkbox: the Remove buttons stay in one column. */}
            {!secrets && (
              <span className="env-row__secret muted">
                {row.stored && (row.value === '' ? 'secret (kept)' : 'secret (replaced)')}
              </span>
            )}
            {secrets && (
              <label className="env-row__secret">
                <input
                  type="checkbox"
                  checked={row.secret}
                  onChange={(event) =>
                    update(index, { secret: event.target.checked, stored: false })
                  }
                />
                Secret
              </label>
            )}
            <Button
              variant="ghost"
              onClick={() => onChange(rows.filter((_, i) => i !== index))}
              aria-label={`Remove variable ${row.name || index + 1}`}
            >
              Remove
            </Button>
          </div>
        );
      })}
      {errors.env && <p className="field__error">{errors.env}</p>}
      <Button onClick={() => onChange([...rows, newEnvRow()])}>Add variable</Button>
    </div>
  );
}
