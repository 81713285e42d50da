import type { ImageStatus } from '@/lib/api-types';

export type ImageListParams = { status?: ImageStatus };

/** TanStack Query keys of images: lists, details and files, invalidated by prefix. */
export const imageKeys = {
  all: ['images'] as const,
  lists: () => ['images', 'list'] as const,
  list: (params: ImageListParams) => ['images', 'list', params] as const,
  details: () => ['images', 'detail'] as const,
  detail: (id: number) => ['images', 'detail', id] as const,
  files: (id: number) => ['images', 'file', id] as const,
  file: (id: number, path: string) => ['images', 'file', id, path] as const,
};
