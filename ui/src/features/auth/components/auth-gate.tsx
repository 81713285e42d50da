import { useQueryClient } from '@tanstack/react-query';
import {
  createContext,
  Fragment,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  type ReactNode,
} from 'react';

import { Loading } from '@/components/ui/loading';
import { ApiError } from '@/lib/api-client';
import type { Session } from '@/lib/api-types';
import { onUnauthorized } from '@/lib/auth-events';
import { describeError } from '@/lib/problems';

import { getSession, logIn, logOut } from '../api/session';
import { takeTokenFromUrl } from '../utils/token-in-url';
import { LoginScreen } from './login-screen';

type AuthState =
  | { kind: 'checking' }
  | { kind: 'in'; session: Session; generation: number }
  | { kind: 'out'; notice: string | null };

type SessionContextValue = { session: Session | null; logOut: () => Promise<void> };

const SessionContext = createContext<SessionContextValue>({
  session: null,
  logOut: async () => {},
});

/** The session the app runs in, and the way out of it. */
export const useSession = () => useContext(SessionContext);

export const SESSION_ENDED =
  'Your session has ended (the access token may have been rotated). Log in again.';

let urlLogin: Promise<string | null> | null = null;

/**
 * Logs in with the `?token=` of the address, once per page load (StrictMode runs
 * effects twice); resolves to what went wrong, or null.
 */
function logInFromUrl(): Promise<string | null> {
  urlLogin ??= (async () => {
    const { token, cleaned } = takeTokenFromUrl(window.location.href);
    if (cleaned === null) return null;
    window.history.replaceState(window.history.state, '', cleaned);
    if (token === null) return null;
    try {
      await logIn(token);
      return null;
    } catch (error) {
      return `The link's token did not log you in: ${describeError(error)}`;
    }
  })();
  return urlLogin;
}

/**
 * Shows the app only to a logged-in browser. On load it trades a `?token=` in the
 * address for the session cookie, then asks the server who it is; any later 401
 * (a rotated token) brings the login screen back. After a login the app below
 * mounts afresh, so its event stream reconnects with the new cookie.
 */
export function AuthGate({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<AuthState>({ kind: 'checking' });
  const generation = useRef(0);

  const enter = useCallback(async (notice: string | null) => {
    try {
      const session = await getSession();
      generation.current += 1;
      setState({ kind: 'in', session, generation: generation.current });
    } catch (error) {
      const unauthorized = error instanceof ApiError && error.status === 401;
      setState({ kind: 'out', notice: notice ?? (unauthorized ? null : describeError(error)) });
    }
  }, []);

  useEffect(() => {
    void logInFromUrl().then(enter);
  }, [enter]);

  useEffect(
    () =>
      onUnauthorized(() => {
        setState((current) => {
          if (current.kind !== 'in') return current;
          queryClient.clear();
          return { kind: 'out', notice: SESSION_ENDED };
        });
      }),
    [queryClient],
  );

  const leave = useCallback(async () => {
    await logOut();
    queryClient.clear();
    setState({ kind: 'out', notice: 'You have logged out.' });
  }, [queryClient]);

  if (state.kind === 'checking') return <Loading label="Checking your session…" />;
  if (state.kind === 'out')
    return <LoginScreen notice={state.notice} onLoggedIn={() => void enter(null)} />;
  return (
    <SessionContext.Provider value={{ session: state.session, logOut: leave }}>
      <Fragment key={state.generation}>{children}</Fragment>
    </SessionContext.Provider>
  );
}
