import { useCallback, useEffect, useRef } from 'react';
import { useBlocker, type Location } from 'react-router';

export const UNSAVED_MESSAGE = 'You have unsaved changes. Leave without saving them?';

/**
 * The `leaves` rule of a page with tabs (`?tab=`), file drafts and a settings
 * form: the drafts live in the page and survive a tab change, the settings form
 * lives in its tab and does not. So leaving the page loses either; changing the
 * tab loses the settings edits only.
 */
export function leavesFilesOrSettings(filesDirty: boolean, settingsDirty: boolean) {
  return (from: Location, to: Location) =>
    from.pathname !== to.pathname
      ? filesDirty || settingsDirty
      : settingsDirty && to.search !== from.search;
}

/**
 * Warns before unsaved changes are lost: on a link or back/forward inside the
 * app (a confirmation), and on reload, close or a typed URL (the browser's own
 * "Leave site?" prompt). `leaves` decides which moves lose the changes; by
 * default, any that changes the path (tabs kept in `?tab=` keep them).
 *
 * Returns `allowNavigation`: call it just before navigating away on purpose
 * (after a save), when the page has not re-rendered as clean yet.
 */
export function useUnsavedChanges(
  dirty: boolean,
  leaves?: (from: Location, to: Location) => boolean,
) {
  const state = useRef({ dirty, leaves, allowed: false });
  state.current.dirty = dirty;
  state.current.leaves = leaves;

  const blocker = useBlocker(
    useCallback(
      ({
        currentLocation,
        nextLocation,
      }: {
        currentLocation: Location;
        nextLocation: Location;
      }) => {
        const { dirty: isDirty, leaves: lose, allowed } = state.current;
        if (allowed) {
          state.current.allowed = false;
          return false;
        }
        return (
          isDirty &&
          (lose
            ? lose(currentLocation, nextLocation)
            : currentLocation.pathname !== nextLocation.pathname)
        );
      },
      [],
    ),
  );

  useEffect(() => {
    if (blocker.state !== 'blocked') return;
    if (window.confirm(UNSAVED_MESSAGE)) blocker.proceed();
    else blocker.reset();
  }, [blocker]);

  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [dirty]);

  return useCallback(() => {
    state.current.allowed = true;
  }, []);
}
