import { lazy, Suspense } from 'react';

import type { CodeEditorProps } from './code-editor';

export type { CodeEditorProps };
export { languageOf } from './languages';

// CodeMirror is a chunk of its own, fetched when the first editor is shown.
const CodeEditorImpl = lazy(() => import('./code-editor'));

export function CodeEditor(props: CodeEditorProps) {
  return (
    <Suspense
      fallback={
        <div className="code-editor code-editor--loading" role="status">
          Loading the editor…
        </div>
      }
    >
      <CodeEditorImpl {...props} />
    </Suspense>
  );
}
