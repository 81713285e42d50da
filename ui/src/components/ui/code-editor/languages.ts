/**
 * Editor languages, each loaded on demand: the Python grammar is only fetched
 * when a .py file is opened, the Dockerfile mode only for a Dockerfile.
 */
import { StreamLanguage } from '@codemirror/language';
import type { Extension } from '@codemirror/state';

export type EditorLanguage = 'python' | 'dockerfile' | 'plain';

/** The language of a file, from its name. requirements.txt and the rest: plain text. */
export function languageOf(path: string): EditorLanguage {
  const name = path.split('/').pop() ?? path;
  if (/\.pyi?$/i.test(name)) return 'python';
  if (/^(Dockerfile|Containerfile)(\..*)?$/i.test(name) || /\.dockerfile$/i.test(name))
    return 'dockerfile';
  return 'plain';
}

export async function loadLanguage(language: EditorLanguage): Promise<Extension> {
  if (language === 'python') {
    const { python } = await import('@codemirror/lang-python');
    return python();
  }
  if (language === 'dockerfile') {
    const { dockerFile } = await import('@codemirror/legacy-modes/mode/dockerfile');
    return StreamLanguage.define(dockerFile);
  }
  return [];
}
