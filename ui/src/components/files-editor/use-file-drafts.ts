import { useCallback, useMemo, useState } from 'react';

export type FileDrafts = {
  /** Unsaved text by path; a path is here only while its text differs from the saved one. */
  drafts: Readonly<Record<string, string>>;
  /** Records `text` for `path`, or forgets the draft when it equals `saved`. */
  setDraft: (path: string, text: string, saved: string | null) => void;
  clearDraft: (path: string) => void;
  dirty: boolean;
};

/**
 * Unsaved edits of a set of files, kept by the page (not by the editor), so that
 * switching files or tabs keeps them.
 */
export function useFileDrafts(): FileDrafts {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const setDraft = useCallback((path: string, text: string, saved: string | null) => {
    setDrafts((current) => {
      if (saved !== null && text === saved) {
        if (!(path in current)) return current;
        const { [path]: _dropped, ...rest } = current;
        return rest;
      }
      return current[path] === text ? current : { ...current, [path]: text };
    });
  }, []);
  const clearDraft = useCallback((path: string) => {
    setDrafts((current) => {
      if (!(path in current)) return current;
      const { [path]: _dropped, ...rest } = current;
      return rest;
    });
  }, []);
  return useMemo(
    () => ({ drafts, setDraft, clearDraft, dirty: Object.keys(drafts).length > 0 }),
    [drafts, setDraft, clearDraft],
  );
}
