/**
 * The login link printed at start (`http://host/?token=...`, as Jupyter does).
 * The token is taken out of the address at once, so it stays out of the history,
 * bookmarks and screenshots. `cleaned` is the address without it (relative, for
 * `history.replaceState`), or null when there was no `token` parameter.
 */
export function takeTokenFromUrl(href: string): { token: string | null; cleaned: string | null } {
  const url = new URL(href);
  if (!url.searchParams.has('token')) return { token: null, cleaned: null };
  const token = url.searchParams.get('token')?.trim() || null;
  url.searchParams.delete('token');
  return { token, cleaned: `${url.pathname}${url.search}${url.hash}` };
}
