export type ScriptListParams = { image_id?: number };

/** TanStack Query keys of scripts, their files and their revisions. */
export const scriptKeys = {
  all: ['scripts'] as const,
  lists: () => ['scripts', 'list'] as const,
  list: (params: ScriptListParams) => ['scripts', 'list', params] as const,
  details: () => ['scripts', 'detail'] as const,
  detail: (id: number) => ['scripts', 'detail', id] as const,
  files: (id: number) => ['scripts', 'file', id] as const,
  file: (id: number, path: string) => ['scripts', 'file', id, path] as const,
  revisions: (id: number) => ['scripts', 'revisions', id] as const,
  revision: (id: number, number: number) => ['scripts', 'revisions', id, number] as const,
};
