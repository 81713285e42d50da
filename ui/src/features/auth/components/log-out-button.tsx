import { useState } from 'react';

import { Button } from '@/components/ui/button';

import { useSession } from './auth-gate';

/** In the top bar, when the server asks for a token at all. */
export function LogOutButton() {
  const { session, logOut } = useSession();
  const [busy, setBusy] = useState(false);
  if (!session?.auth_enabled) return null;
  const click = () => {
    setBusy(true);
    // On success the app gives way to the login screen; on failure (the server
    // unreachable) the button is there to try again.
    logOut().catch(() => setBusy(false));
  };
  return (
    <Button variant="ghost" busy={busy} onClick={click} data-testid="log-out">
      Log out
    </Button>
  );
}
