import { cloneElement, isValidElement, type ReactElement, type ReactNode } from 'react';

type FieldProps = {
  label: ReactNode;
  /** The id of the control; the label and messages are tied to it. */
  id: string;
  /** The server's message for this field, in words: shown under it. */
  error?: string | null;
  hint?: ReactNode;
  children: ReactElement<Record<string, unknown>>;
  className?: string;
};

/**
 * A label, its control, a hint and the error at fault. The control gets
 * `aria-invalid` and `aria-describedby`, so a screen reader reads the error too.
 */
export function Field({ label, id, error, hint, children, className }: FieldProps) {
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        'aria-invalid': error ? true : undefined,
        'aria-describedby': describedBy,
      })
    : children;
  return (
    <div className={`field${error ? ' field--invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {control}
      {hint && (
        <p className="field__hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field__error" id={errorId} data-testid={`error-${id}`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A message that no field claims, at the top of a form. */
export function FormError({
  message,
  testId = 'form-error',
}: {
  message: string | null;
  testId?: string;
}) {
  if (!message) return null;
  return (
    <div className="alert" role="alert" data-testid={testId}>
      {message}
    </div>
  );
}
