import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { LogViewer } from '../components/log-viewer';
import { append, emptyWindow, fromTail } from '../utils/log-window';

const props = {
  mode: 'idle' as const,
  error: null,
  loaded: true,
  onLoadEarlier: () => {},
  loadingEarlier: false,
  emptyText: 'No output.',
  label: 'job output',
  testId: 'job-log',
};

describe('LogViewer', () => {
  it('shows the text held, as a labelled log', () => {
    const window = append(fromTail(new TextEncoder().encode('one\n'), 0), 'two\n', 4, 1000);
    const html = renderToStaticMarkup(
      <LogViewer {...props} window={window} downloadHref="/api/jobs/1/log?download=true" />,
    );
    expect(html).toContain('role="log"');
    expect(html).toContain('aria-label="job output"');
    expect(html).toContain('one\ntwo\n');
    expect(html).toContain('href="/api/jobs/1/log?download=true"');
    expect(html).not.toContain('job-log-earlier');
  });

  it('offers the earlier part of a big log, saying how much is shown', () => {
    const tail = new TextEncoder().encode('x\n'.repeat(1000));
    const window = fromTail(tail, 200 * 1024 * 1024 - tail.length, 200 * 1024 * 1024);
    const html = renderToStaticMarkup(<LogViewer {...props} window={window} />);
    expect(html).toContain('data-testid="job-log-earlier"');
    expect(html).toMatch(/Showing the last 2\.0 KB of 200 MB/);
    expect(html).toContain('Load earlier output');
  });

  it('says when there is no output, and when it is live', () => {
    expect(renderToStaticMarkup(<LogViewer {...props} window={emptyWindow()} />)).toContain(
      'No output.',
    );
    const live = renderToStaticMarkup(
      <LogViewer {...props} mode="stream" window={emptyWindow()} />,
    );
    expect(live).toMatch(/data-testid="job-log-mode"[^>]*>live<\/span>/);
  });
});
