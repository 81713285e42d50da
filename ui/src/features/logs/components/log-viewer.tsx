import { memo, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { formatBytes } from '@/lib/format';

import type { LogMode } from '../api/use-log';
import { findMatches, isAtEnd, splitByMatches } from '../utils/log-search';
import { hasEarlier, type LogChunk, type LogWindow } from '../utils/log-window';

const MARKS_PER_CHUNK = 2000;

const Chunk = memo(function Chunk({ chunk, query }: { chunk: LogChunk; query: string }) {
  if (!query) return <span>{chunk.text}</span>;
  return (
    <span>
      {splitByMatches(chunk.text, query, MARKS_PER_CHUNK).map((part, index) =>
        part.match ? (
          <mark key={index} className="log__match">
            {part.text}
          </mark>
        ) : (
          part.text
        ),
      )}
    </span>
  );
});

export type LogViewerProps = {
  window: LogWindow;
  mode: LogMode;
  error: string | null;
  loaded: boolean;
  onLoadEarlier: () => void;
  loadingEarlier: boolean;
  /** Link that downloads the whole log, or undefined when there is none. */
  downloadHref?: string;
  emptyText: string;
  label: string;
  testId?: string;
  /** Told whether the user follows the end (then less output is held). */
  setFollowing?: (following: boolean) => void;
};

/**
 * A log window: follows the end while the user is at the end, stops when they
 * scroll up (a "Follow" button brings it back), searches what is loaded, and
 * loads earlier output on demand.
 */
export function LogViewer({
  window,
  mode,
  error,
  loaded,
  onLoadEarlier,
  loadingEarlier,
  downloadHref,
  emptyText,
  label,
  testId = 'log',
  setFollowing: reportFollowing,
}: LogViewerProps) {
  const box = useRef<HTMLPreElement>(null);
  const searchId = useId();
  const [following, setFollowing] = useState(true);
  const [query, setQuery] = useState('');
  const [current, setCurrent] = useState(0);
  const lastHeight = useRef(0);
  const lastStart = useRef(window.start);

  const matchCount = useMemo(
    () =>
      query
        ? window.chunks.reduce(
            (sum, chunk) => sum + findMatches(chunk.text, query, MARKS_PER_CHUNK).length,
            0,
          )
        : 0,
    [window.chunks, query],
  );

  // Keep the end in view while following; keep the same line in view when
  // earlier output is put above it.
  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    if (window.start < lastStart.current) {
      element.scrollTop += element.scrollHeight - lastHeight.current;
    } else if (following) {
      // A scroll up that lands in the same frame as new output has not told us yet
      // (its scroll event comes after this): the view is above where we left it at
      // the end. Then stop following instead of pulling the reader back down.
      const scrolledUp =
        window.start === lastStart.current &&
        element.scrollTop + element.clientHeight < lastHeight.current - 4;
      if (scrolledUp) setFollowing(false);
      else element.scrollTop = element.scrollHeight;
    }
    lastStart.current = window.start;
    lastHeight.current = element.scrollHeight;
  }, [window, following]);

  useEffect(() => reportFollowing?.(following), [following, reportFollowing]);

  useEffect(() => {
    if (current >= matchCount) setCurrent(0);
  }, [matchCount, current]);

  function showMatch(index: number) {
    const marks = box.current?.querySelectorAll('mark.log__match');
    if (!marks || marks.length === 0) return;
    const wrapped = (index + marks.length) % marks.length;
    marks.forEach((mark, i) => mark.classList.toggle('log__match--current', i === wrapped));
    setFollowing(false);
    marks[wrapped]?.scrollIntoView({ block: 'center' });
    setCurrent(wrapped);
  }

  function follow() {
    setFollowing(true);
    const element = box.current;
    if (element) element.scrollTop = element.scrollHeight;
  }

  const held = window.end - window.start;
  const empty = loaded && window.chunks.length === 0;

  return (
    <div className="log" data-testid={testId}>
      <div className="log__toolbar">
        <div className="log__search">
          <label htmlFor={searchId} className="visually-hidden">
            Search the {label}
          </label>
          <input
            id={searchId}
            type="search"
            className="input"
            placeholder="Search…"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              setCurrent(0);
            }}
            onKeyDown={(event) => {
              if (event.key === 'Enter') {
                event.preventDefault();
                showMatch(event.shiftKey ? current - 1 : current + 1);
              }
            }}
            data-testid={`${testId}-search`}
          />
          {query && (
            <>
              <span className="log__count" aria-live="polite" data-testid={`${testId}-matches`}>
                {matchCount === 0
                  ? 'no match'
                  : `${Math.min(current + 1, matchCount)} of ${matchCount}`}
              </span>
              <Button
                variant="ghost"
                onClick={() => showMatch(current - 1)}
                disabled={!matchCount}
                aria-label="Previous match"
              >
                ↑
              </Button>
              <Button
                variant="ghost"
                onClick={() => showMatch(current + 1)}
                disabled={!matchCount}
                aria-label="Next match"
              >
                ↓
              </Button>
            </>
          )}
        </div>
        <div className="button-row">
          {(mode === 'stream' || mode === 'polling') && (
            <span
              className="log__mode"
              data-testid={`${testId}-mode`}
              title={
                mode === 'stream' ? 'Streaming as it is written' : 'Reading new output every second'
              }
            >
              {mode === 'stream' ? 'live' : 'live (polling)'}
            </span>
          )}
          <Button
            variant={following ? 'secondary' : 'primary'}
            onClick={follow}
            aria-pressed={following}
            data-testid={`${testId}-follow`}
            title="Keep the newest output in view"
          >
            {following ? 'Following' : 'Follow'}
          </Button>
          {downloadHref && (
            <a
              className="button button--secondary"
              href={downloadHref}
              download
              data-testid={`${testId}-download`}
            >
              Download
            </a>
          )}
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
      {hasEarlier(window) && (
        <div className="log__earlier" data-testid={`${testId}-earlier`}>
          <span>
            Showing the last {formatBytes(held)} of {formatBytes(window.size)}.
          </span>
          <Button onClick={onLoadEarlier} busy={loadingEarlier}>
            Load earlier output
          </Button>
        </div>
      )}
      <pre
        ref={box}
        className="log__output"
        tabIndex={0}
        role="log"
        aria-label={label}
        onScroll={(event) => setFollowing(isAtEnd(event.currentTarget))}
        data-testid={`${testId}-output`}
      >
        {empty ? (
          <span className="muted">{emptyText}</span>
        ) : (
          window.chunks.map((chunk) => <Chunk key={chunk.key} chunk={chunk} query={query} />)
        )}
        {!loaded && !error && <span className="muted">Loading…</span>}
      </pre>
    </div>
  );
}
