import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { saveErrorMessage } from '../files-editor/files-editor';
import { Field, FormError } from '../ui/field';
import { ApiError } from '@/lib/api-client';

describe('Field', () => {
  it('ties the label, the hint and the error to the control', () => {
    const html = renderToStaticMarkup(
      <Field
        id="settings-memory"
        label="Memory (MB)"
        error="Must be from 6 to 2147483647"
        hint="Empty: none"
      >
        <input />
      </Field>,
    );
    expect(html).toContain('<label class="field__label" for="settings-memory">Memory (MB)</label>');
    expect(html).toContain('id="settings-memory"');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('aria-describedby="settings-memory-error settings-memory-hint"');
    expect(html).toContain('data-testid="error-settings-memory">Must be from 6 to 2147483647</p>');
  });

  it('marks nothing invalid without an error', () => {
    const html = renderToStaticMarkup(
      <Field id="name" label="Name">
        <input />
      </Field>,
    );
    expect(html).not.toContain('aria-invalid');
    expect(html).not.toContain('field__error');
  });

  it('shows a form-level message as an alert, and nothing without one', () => {
    expect(renderToStaticMarkup(<FormError message="image is building" />)).toContain(
      'role="alert"',
    );
    expect(renderToStaticMarkup(<FormError message={null} />)).toBe('');
  });
});

describe('saveErrorMessage', () => {
  it('gives the message about the file being saved', () => {
    const refused = new ApiError(409, 'Conflict', {
      title: 'Conflict',
      detail:
        "image 'base' is built: files can be changed only while it is dormant or failed (destroy it first)",
    });
    expect(saveErrorMessage(refused, 'Dockerfile')).toContain('destroy it first');
    const badPath = new ApiError(422, '', {
      title: 'Invalid input',
      detail: "the file path contains a backslash; use '/'",
      field: 'path',
    });
    expect(saveErrorMessage(badPath, 'a\\b.py')).toBe(
      "the file path contains a backslash; use '/'",
    );
  });
});
