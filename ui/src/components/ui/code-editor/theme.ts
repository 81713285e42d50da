/**
 * The editor's look, in the page's CSS variables: light and dark follow the
 * system with the rest of the page, no second theme to switch.
 */
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorView } from '@codemirror/view';
import { tags } from '@lezer/highlight';

export const editorTheme = EditorView.theme({
  '&': {
    color: 'var(--text)',
    backgroundColor: 'var(--code-bg)',
    fontSize: '0.875rem',
    height: '100%',
  },
  '&.cm-focused': { outline: '2px solid var(--link)', outlineOffset: '-2px' },
  '.cm-scroller': {
    fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace",
    lineHeight: '1.5',
  },
  '.cm-content': { caretColor: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '.cm-gutters': {
    backgroundColor: 'var(--code-gutter)',
    color: 'var(--muted)',
    border: 'none',
    borderRight: '1px solid var(--border)',
  },
  '.cm-activeLine': { backgroundColor: 'var(--code-active)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--code-active)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
    { backgroundColor: 'var(--code-selection)' },
  '.cm-searchMatch': { backgroundColor: 'var(--mark-bg)' },
  '.cm-panels': { backgroundColor: 'var(--surface)', color: 'var(--text)' },
  '.cm-readonly-note': { color: 'var(--muted)' },
});

export const editorHighlighting = syntaxHighlighting(
  HighlightStyle.define([
    {
      tag: [tags.keyword, tags.controlKeyword, tags.operatorKeyword, tags.definitionKeyword],
      color: 'var(--syn-keyword)',
    },
    { tag: [tags.string, tags.special(tags.string)], color: 'var(--syn-string)' },
    {
      tag: [tags.comment, tags.lineComment, tags.blockComment],
      color: 'var(--syn-comment)',
      fontStyle: 'italic',
    },
    { tag: [tags.number, tags.bool, tags.null, tags.atom], color: 'var(--syn-number)' },
    {
      tag: [tags.function(tags.variableName), tags.function(tags.propertyName)],
      color: 'var(--syn-function)',
    },
    { tag: [tags.definition(tags.variableName), tags.className], color: 'var(--syn-definition)' },
    { tag: [tags.meta, tags.processingInstruction], color: 'var(--syn-meta)' },
    { tag: tags.invalid, color: 'var(--error-fg)' },
  ]),
);
