/** Search in the held part of a log, and the follow-the-end rule of the viewer. */

/** Where `query` occurs in `text`, ignoring case; at most `limit` matches. */
export function findMatches(text: string, query: string, limit = 10_000): Array<[number, number]> {
  if (!query) return [];
  const haystack = text.toLowerCase();
  const needle = query.toLowerCase();
  const matches: Array<[number, number]> = [];
  let from = 0;
  while (matches.length < limit) {
    const at = haystack.indexOf(needle, from);
    if (at === -1) break;
    matches.push([at, at + needle.length]);
    from = at + needle.length;
  }
  return matches;
}

/** Splits text into plain and matching parts, for rendering with <mark>. */
export function splitByMatches(
  text: string,
  query: string,
  limit?: number,
): Array<{ text: string; match: boolean }> {
  const parts: Array<{ text: string; match: boolean }> = [];
  let position = 0;
  for (const [start, end] of findMatches(text, query, limit)) {
    if (start > position) parts.push({ text: text.slice(position, start), match: false });
    parts.push({ text: text.slice(start, end), match: true });
    position = end;
  }
  if (position < text.length) parts.push({ text: text.slice(position), match: false });
  return parts;
}

/**
 * Whether a scrolled box shows its end: then new output keeps it at the end
 * (following). Scrolling up, even a little more than `tolerance`, stops that.
 */
export function isAtEnd(
  box: { scrollTop: number; scrollHeight: number; clientHeight: number },
  tolerance = 24,
): boolean {
  return box.scrollHeight - box.scrollTop - box.clientHeight <= tolerance;
}
