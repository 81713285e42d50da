import { useEffect } from 'react';

/** "Image base · Scripter" in the tab and the history. */
export function useDocumentTitle(title: string | null | undefined) {
  useEffect(() => {
    document.title = title ? `${title} · Scripter` : 'Scripter';
  }, [title]);
}
