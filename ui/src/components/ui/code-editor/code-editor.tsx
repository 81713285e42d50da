import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, indentOnInput, indentUnit } from '@codemirror/language';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Annotation, Compartment, EditorState } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { useEffect, useRef } from 'react';

import { languageOf, loadLanguage } from './languages';
import { editorHighlighting, editorTheme } from './theme';

/** Marks the transaction that puts a new `value` from outside into the editor. */
const fromOutside = Annotation.define<boolean>();

export type CodeEditorProps = {
  /** The file's path: picks the language and labels the editor. */
  path: string;
  value: string;
  onChange?: (value: string) => void;
  /** Ctrl+S / Cmd+S. */
  onSave?: () => void;
  readOnly?: boolean;
  /** Id of the element that describes the editor (e.g. why it is read-only). */
  describedBy?: string;
};

/**
 * CodeMirror 6. The document is owned by the editor while it is mounted: a new
 * `value` from outside (a reload, a restore) replaces it only when it differs.
 */
export default function CodeEditor({
  path,
  value,
  onChange,
  onSave,
  readOnly = false,
  describedBy,
}: CodeEditorProps) {
  const parent = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const editable = useRef(new Compartment());
  const callbacks = useRef({ onChange, onSave });
  callbacks.current = { onChange, onSave };
  /**
   * Documents this editor reported through `onChange` that have not come back as
   * `value` yet. Keys can arrive faster than React commits each draft: a `value`
   * that is one of these is an echo of an older keystroke, not a change from
   * outside, and must not overwrite what was typed since.
   */
  const unechoed = useRef<string[]>([]);

  useEffect(() => {
    if (!parent.current) return;
    const created = new EditorView({
      parent: parent.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          history(),
          drawSelection(),
          indentOnInput(),
          indentUnit.of('    '),
          bracketMatching(),
          highlightSelectionMatches(),
          search({ top: true }),
          keymap.of([
            {
              key: 'Mod-s',
              preventDefault: true,
              run: () => {
                callbacks.current.onSave?.();
                return true;
              },
            },
            ...defaultKeymap,
            ...historyKeymap,
            ...searchKeymap,
            // Tab indents; Escape then Tab leaves the editor (CodeMirror's tab-focus mode).
            indentWithTab,
          ]),
          editorTheme,
          editorHighlighting,
          language.current.of([]),
          editable.current.of([
            EditorState.readOnly.of(readOnly),
            EditorView.editable.of(!readOnly),
          ]),
          EditorView.contentAttributes.of({
            'aria-label': `Contents of ${path}`,
            ...(describedBy ? { 'aria-describedby': describedBy } : {}),
          }),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged || update.transactions.some((t) => t.annotation(fromOutside)))
              return;
            const doc = update.state.doc.toString();
            // Bounded: a parent that never echoes must not keep every draft alive.
            if (unechoed.current.push(doc) > 50) unechoed.current.shift();
            callbacks.current.onChange?.(doc);
          }),
        ],
      }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // One editor per file: the parent keys this component by path.
  }, []);

  useEffect(() => {
    let cancelled = false;
    void loadLanguage(languageOf(path)).then((extension) => {
      if (!cancelled) view.current?.dispatch({ effects: language.current.reconfigure(extension) });
    });
    return () => {
      cancelled = true;
    };
  }, [path]);

  useEffect(() => {
    view.current?.dispatch({
      effects: editable.current.reconfigure([
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
      ]),
    });
  }, [readOnly]);

  useEffect(() => {
    const current = view.current;
    if (!current) return;
    const echoed = unechoed.current.indexOf(value);
    if (echoed >= 0) {
      // Our own draft coming back (perhaps behind newer keystrokes): keep the editor's.
      unechoed.current.splice(0, echoed + 1);
      return;
    }
    unechoed.current = [];
    if (current.state.doc.toString() !== value) {
      current.dispatch({
        changes: { from: 0, to: current.state.doc.length, insert: value },
        annotations: fromOutside.of(true),
      });
    }
  }, [value]);

  return <div ref={parent} className="code-editor" data-testid="code-editor" data-path={path} />;
}
