/** The part of a TanStack query result a card needs to show several queries as one. */
export type QueryStatus = { isPending: boolean; isError: boolean; error: unknown };

/**
 * Several queries shown together (one card, one list): the first failure is the
 * card's error, so no failed part goes unseen behind the others' data; without
 * one, the card waits until every query has answered.
 */
export function combineQueries(queries: QueryStatus[]): { isPending: boolean; error: unknown } {
  const failed = queries.find((query) => query.isError);
  if (failed) return { isPending: false, error: failed.error };
  return { isPending: queries.some((query) => query.isPending), error: null };
}
