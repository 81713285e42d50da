import { useState, type FormEvent } from 'react';

import { Button } from '@/components/ui/button';
import { Field, FormError } from '@/components/ui/field';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { ApiError } from '@/lib/api-client';
import { describeError, placeProblem } from '@/lib/problems';

import { logIn } from '../api/session';

export type LoginViewProps = {
  token: string;
  onTokenChange: (token: string) => void;
  onSubmit: () => void;
  busy: boolean;
  /** Why the screen shows (a session that ended, a bad link), or null. */
  notice: string | null;
  /** The server's answer to the last attempt, next to the field. */
  error: string | null;
  /** An error that is not about the token (the server unreachable, 429). */
  formError: string | null;
};

/** Where the user pastes the access token. */
export function LoginView({
  token,
  onTokenChange,
  onSubmit,
  busy,
  notice,
  error,
  formError,
}: LoginViewProps) {
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <main className="login" data-testid="login-screen">
      <form className="login__card card" onSubmit={submit} noValidate>
        <h1 className="login__title">Log in to Scripter</h1>
        {notice && (
          <p className="alert alert--info" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        <FormError message={formError} testId="login-error" />
        <Field
          id="access-token"
          label="Access token"
          error={error}
          hint={
            <>
              Scripter printed it in its log at the first start, with a link that logs you in.{' '}
              <code>scripter token show</code> prints that link again.
            </>
          }
        >
          <input
            className="input"
            type="password"
            name="token"
            autoComplete="off"
            spellCheck={false}
            autoFocus
            value={token}
            onChange={(event) => onTokenChange(event.target.value)}
          />
        </Field>
        <div className="button-row">
          <Button type="submit" variant="primary" busy={busy} disabled={!token.trim()}>
            Log in
          </Button>
        </div>
      </form>
    </main>
  );
}

type LoginScreenProps = {
  notice: string | null;
  onLoggedIn: () => void;
};

export function LoginScreen({ notice, onLoggedIn }: LoginScreenProps) {
  useDocumentTitle('Log in');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  const submit = async () => {
    if (!token.trim() || busy) return;
    setBusy(true);
    setError(null);
    setFormError(null);
    try {
      await logIn(token.trim());
      onLoggedIn();
    } catch (caught) {
      const placed = placeProblem(caught instanceof ApiError ? caught.problem : null, ['token']);
      setError(placed.fields.token ?? null);
      setFormError(
        placed.fields.token ? placed.general : (placed.general ?? describeError(caught)),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <LoginView
      token={token}
      onTokenChange={setToken}
      onSubmit={() => void submit()}
      busy={busy}
      notice={notice}
      error={error}
      formError={formError}
    />
  );
}
