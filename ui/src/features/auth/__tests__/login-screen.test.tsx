import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { LoginView, type LoginViewProps } from '../components/login-screen';

const props: LoginViewProps = {
  token: '',
  onTokenChange: () => {},
  onSubmit: () => {},
  busy: false,
  notice: null,
  error: null,
  formError: null,
};

describe('LoginView', () => {
  it('asks for the token in a password field, and says where to find it', () => {
    const html = renderToStaticMarkup(<LoginView {...props} />);
    expect(html).toContain('Access token');
    expect(html).toMatch(/<input[^>]*type="password"/);
    expect(html).toContain('scripter token show');
    // Nothing to send yet.
    expect(html).toMatch(/<button[^>]*type="submit"[^>]*disabled=""/);
    expect(html).not.toContain('role="alert"');
  });

  it('shows why it is there and what the server said', () => {
    const html = renderToStaticMarkup(
      <LoginView
        {...props}
        token="x"
        notice="Your session has ended."
        error="The access token is not valid."
        formError="Too many failed logins"
      />,
    );
    expect(html).toContain('Your session has ended.');
    expect(html).toContain('data-testid="error-access-token"');
    expect(html).toContain('The access token is not valid.');
    expect(html).toMatch(/aria-invalid="true"/);
    expect(html).toContain('Too many failed logins');
    expect(html).not.toMatch(/<button[^>]*disabled=""/);
  });
});
