/**
 * "The server said 401": every request goes through `api-client.ts`, which reports
 * it here, and the auth gate (features/auth) listens and shows the login screen.
 * A plain list of listeners: it must work outside React (the fetch wrappers).
 */
type Listener = () => void;

const listeners = new Set<Listener>();

export function onUnauthorized(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function reportUnauthorized(): void {
  for (const listener of [...listeners]) listener();
}
