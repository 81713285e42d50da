import type { ImageCreate, ImageDefaults } from '@/lib/api-types';

/** What the create form holds. A text that is null was not edited: the server's default shows. */
export type ImageDraft = {
  name: string;
  description: string;
  requirements: string | null;
  customDockerfile: boolean;
  dockerfile: string | null;
};

/** The text an editor shows: the user's edit, else the server's default ('' until it is known). */
export function shownText(edited: string | null, serverDefault: string | undefined): string {
  return edited ?? serverDefault ?? '';
}

/**
 * The body of `POST /api/images`, with what the form shows. With the default
 * Dockerfile chosen it sends none: the server writes its default, the text shown.
 */
export function imageCreateBody(
  draft: ImageDraft,
  defaults: ImageDefaults | undefined,
): ImageCreate {
  return {
    name: draft.name.trim(),
    description: draft.description,
    requirements: shownText(draft.requirements, defaults?.requirements),
    dockerfile: draft.customDockerfile ? shownText(draft.dockerfile, defaults?.dockerfile) : null,
  };
}
