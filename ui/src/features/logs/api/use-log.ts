import { useCallback, useEffect, useRef, useState } from 'react';

import { describeError } from '@/lib/problems';
import { openEventStream } from '@/lib/sse';
import { utf8Length } from '@/lib/text';

import { endStatusOf, logTextOf, offsetOf } from '../utils/log-events';
import {
  append,
  appendPieces,
  emptyWindow,
  fromTail,
  prepend,
  type LogPiece,
  type LogWindow,
} from '../utils/log-window';

import { readLogRange, readLogTail } from './read-log';

export type LogSource = {
  /** `/api/jobs/3/log`: byte ranges with `?offset=`. */
  logUrl: string;
  /** `/api/jobs/3/log/stream`: SSE, event ids are byte offsets; 404 where absent. */
  streamUrl: string;
};

export type LogMode = 'loading' | 'stream' | 'polling' | 'idle';

export const TAIL_BYTES = 256 * 1024;
export const EARLIER_BYTES = 512 * 1024;
/** Held while following the end: the page lays out no more than this. */
export const FOLLOW_HELD_BYTES = 1024 * 1024;
/** Held while the user reads further up (nothing they loaded is dropped under them soon). */
export const MAX_HELD_BYTES = 16 * 1024 * 1024;
const POLL_BYTES = 1024 * 1024;
/** Further behind than this, polling jumps to the tail instead of catching up. */
const JUMP_BYTES = 8 * 1024 * 1024;
const POLL_MS = 1000;
/** Streamed output is put on the page at most this often, however fast it comes. */
const FLUSH_MS = 100;

/**
 * A log as it grows: the tail first, then what is appended, by the event stream
 * when the server has one (EventSource resumes after a drop at the last byte
 * offset) or by polling `?offset=` when it has not. `live` says whether anything
 * still writes (the job is queued or running, the image is building).
 * `loadEarlier` fetches the part before the window on demand; `setFollowing`
 * tells whether the user reads the end (then less is held).
 */
export function useLog(source: LogSource, live: boolean, onEnd?: (status: string | null) => void) {
  const { logUrl, streamUrl } = source;
  const [window, setWindow] = useState<LogWindow>(emptyWindow);
  const [mode, setMode] = useState<LogMode>('loading');
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const windowRef = useRef(window);
  const followingRef = useRef(true);
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;
  // Bumped whenever the window is replaced: answers for an older one are dropped.
  const generation = useRef(0);

  const heldLimit = () => (followingRef.current ? FOLLOW_HELD_BYTES : MAX_HELD_BYTES);

  const update = useCallback((next: LogWindow) => {
    windowRef.current = next;
    setWindow(next);
  }, []);

  const loadTail = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const tail = await readLogTail(logUrl, TAIL_BYTES);
      if (mine !== generation.current) return;
      update(fromTail(tail.bytes, tail.offset, tail.size));
      setError(null);
      setLoaded(true);
    } catch (exc) {
      if (mine === generation.current) setError(describeError(exc));
    }
  }, [logUrl, update]);

  useEffect(() => {
    setLoaded(false);
    setMode('loading');
    update(emptyWindow());
    void loadTail();
    return () => {
      generation.current++;
    };
  }, [loadTail, update]);

  // Appends the bytes read at the window's end; false when they were too far ahead.
  const appendRange = useCallback(
    (range: { bytes: Uint8Array; offset: number; size: number }, decoder: TextDecoder): boolean => {
      const current = windowRef.current;
      if (range.offset !== current.end) return true; // an answer for an older position
      if (range.size - current.end > JUMP_BYTES) return false;
      const text = decoder.decode(range.bytes, { stream: true });
      const next = append(current, text, range.bytes.length, heldLimit());
      update({ ...next, size: Math.max(range.size, next.size) });
      return true;
    },
    [update],
  );

  useEffect(() => {
    if (!loaded) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const decoder = new TextDecoder('utf-8');

    const catchUp = async (): Promise<boolean> => {
      const range = await readLogRange(logUrl, windowRef.current.end, POLL_BYTES);
      if (stopped) return false;
      if (!appendRange(range, decoder)) {
        await loadTail();
        return false;
      }
      return range.truncated;
    };

    if (!live) {
      // Whatever was written between the tail read and the end.
      setMode('idle');
      const drain = async () => {
        while (await catchUp()) {
          // truncated: read on
        }
      };
      drain().catch((exc: unknown) => setError(describeError(exc)));
      return () => {
        stopped = true;
      };
    }

    const poll = async () => {
      if (stopped) return;
      let more = false;
      try {
        more = await catchUp();
        setError(null);
      } catch (exc) {
        setError(describeError(exc));
      }
      if (!stopped) timer = setTimeout(() => void poll(), more ? 0 : POLL_MS);
    };

    // Streamed pieces wait here until the next flush: one render per FLUSH_MS.
    let pieces: LogPiece[] = [];
    let pendingEnd = windowRef.current.end;
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      flushTimer = undefined;
      if (stopped || pieces.length === 0) return;
      const next = appendPieces(windowRef.current, pieces, heldLimit());
      pieces = [];
      update(next);
      pendingEnd = next.end;
    };

    setMode('stream');
    // EventSource resumes by itself after a drop (Last-Event-ID: the byte offset);
    // ?offset= is where the first connection starts, the end of what is held.
    const stream = openEventStream(`${streamUrl}?offset=${windowRef.current.end}`, {
      types: ['end', 'reset'],
      onState: (state) => {
        if (state === 'failed' && !stopped) {
          // No stream on this server (or it failed): read the log by offset instead.
          setMode('polling');
          void poll();
        }
      },
      onEvent: (event) => {
        if (stopped) return;
        if (event.type === 'end') {
          clearTimeout(flushTimer);
          flush();
          stream.close();
          setMode('idle');
          onEndRef.current?.(endStatusOf(event.data));
          return;
        }
        if (event.type === 'reset') {
          // The log was truncated (a new build, a cut at the log limit): it follows from 0.
          clearTimeout(flushTimer);
          flushTimer = undefined;
          pieces = [];
          pendingEnd = 0;
          update(emptyWindow());
          return;
        }
        const offset = offsetOf(event.id);
        if (offset !== null && offset <= pendingEnd) return; // already held (a resumed stream)
        const bytes = offset === null ? null : offset - pendingEnd;
        const text = logTextOf(event.data, bytes);
        const size = bytes ?? utf8Length(text);
        pieces.push({ text, bytes: size });
        pendingEnd += size;
        flushTimer ??= setTimeout(flush, FLUSH_MS);
      },
    });
    return () => {
      stopped = true;
      stream.close();
      clearTimeout(timer);
      clearTimeout(flushTimer);
    };
  }, [loaded, live, logUrl, streamUrl, appendRange, loadTail, update]);

  const loadEarlier = useCallback(async () => {
    const current = windowRef.current;
    if (current.start <= 0 || loadingEarlier) return;
    const mine = generation.current;
    const from = Math.max(0, current.start - EARLIER_BYTES);
    setLoadingEarlier(true);
    try {
      const range = await readLogRange(logUrl, from, current.start - from);
      if (mine !== generation.current || windowRef.current.start !== current.start) return;
      update(prepend(windowRef.current, range.bytes, from));
    } catch (exc) {
      setError(describeError(exc));
    } finally {
      setLoadingEarlier(false);
    }
  }, [logUrl, loadingEarlier, update]);

  const setFollowing = useCallback((following: boolean) => {
    followingRef.current = following;
  }, []);

  return { window, mode, error, loaded, loadEarlier, loadingEarlier, setFollowing };
}
