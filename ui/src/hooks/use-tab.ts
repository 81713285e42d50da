import { useCallback } from 'react';
import { useLocation, useNavigate, useSearchParams } from 'react-router';

/** The current tab, kept in `?tab=` so that links, reload and back work. */
export function useTab<T extends string>(tabs: readonly T[], fallback: T) {
  const [params] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const value = params.get('tab');
  const tab = (tabs as readonly string[]).includes(value ?? '') ? (value as T) : fallback;
  const hrefOf = useCallback(
    (id: string) => {
      const next = new URLSearchParams(params);
      next.set('tab', id);
      return `${location.pathname}?${next.toString()}`;
    },
    [params, location.pathname],
  );
  const setTab = useCallback(
    (id: T) => navigate(hrefOf(id), { replace: true }),
    [navigate, hrefOf],
  );
  return { tab, hrefOf, setTab };
}

/** A positive integer route parameter, or null. */
export function parseId(value: string | undefined): number | null {
  if (!value || !/^\d+$/.test(value)) return null;
  const id = Number(value);
  return id > 0 ? id : null;
}
