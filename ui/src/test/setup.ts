/**
 * Runs before every test file (vite.config.ts `test.setupFiles`). Node-environment
 * tests get nothing but the unstubbing; DOM tests (`// @vitest-environment
 * happy-dom`) also get Testing Library's cleanup and the layout shims CodeMirror needs.
 */
import { afterEach, vi } from 'vitest';

afterEach(() => {
  vi.unstubAllGlobals();
});

if (typeof document !== 'undefined') {
  const { cleanup, configure } = await import('@testing-library/react');
  // Without Vitest's `globals`, Testing Library cannot register its own cleanup.
  afterEach(() => cleanup());
  // findBy/waitFor give up after this; the default second is short on a busy machine
  // (a schedule's preview waits out the form's debounce first).
  configure({ asyncUtilTimeout: 10_000 });

  // happy-dom does no layout. CodeMirror measures the text it draws (line heights,
  // the cursor's place) through these; an empty list of rectangles and zero-sized
  // boxes are answers it can live with.
  const emptyRects = (): DOMRectList => {
    const list: DOMRect[] = [];
    return Object.assign(list, { item: (index: number) => list[index] ?? null }) as DOMRectList;
  };
  const zeroRect = (): DOMRect => new DOMRect(0, 0, 0, 0);
  for (const proto of [Range.prototype, Element.prototype]) {
    if (typeof proto.getClientRects !== 'function')
      Object.defineProperty(proto, 'getClientRects', { configurable: true, value: emptyRects });
    if (typeof proto.getBoundingClientRect !== 'function')
      Object.defineProperty(proto, 'getBoundingClientRect', {
        configurable: true,
        value: zeroRect,
      });
  }
  // A browser queues one `selectionchange` task at a time, and only when the
  // selection moved. happy-dom dispatches one at once for every range it is given,
  // even where it was: inside CodeMirror's own update, which then fails
  // ("Calls to EditorView.update are not allowed while an update is in progress"),
  // and again for each selection CodeMirror sets back.
  const dispatch = document.dispatchEvent.bind(document);
  let scheduled = false;
  let last: unknown[] = [];
  const where = () => {
    const selection = document.getSelection();
    return selection
      ? [selection.anchorNode, selection.anchorOffset, selection.focusNode, selection.focusOffset]
      : [];
  };
  document.dispatchEvent = (event: Event) => {
    if (event.type !== 'selectionchange') return dispatch(event);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        const now = where();
        if (now.length === last.length && now.every((part, index) => part === last[index])) return;
        last = now;
        dispatch(new Event('selectionchange'));
      });
    }
    return true;
  };
  if (typeof document.createRange !== 'function') {
    Object.defineProperty(document, 'createRange', {
      configurable: true,
      value: () => new Range(),
    });
  }
}
