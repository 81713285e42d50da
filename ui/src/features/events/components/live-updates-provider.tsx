import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

import { openEventStream, type EventStream, type StreamState } from '@/lib/sse';

import {
  EVENT_TYPES,
  eventType,
  invalidationsFor,
  parseEventData,
  POLLED_KEYS,
} from '../utils/invalidations';

export const EVENTS_URL = '/api/events/stream';
const POLL_MS = 5_000;
/** After the stream failed for good (no such endpoint, a 5xx), try it again this often. */
const REOPEN_MS = 30_000;

/** `live`: events arrive; `polling`: no stream on this server, or it is down. */
export type LiveMode = 'connecting' | 'live' | 'polling';

const LiveModeContext = createContext<LiveMode>('connecting');

export const useLiveMode = () => useContext(LiveModeContext);

function pollEvery(queryClient: QueryClient, ms: number): () => void {
  const timer = setInterval(() => {
    for (const queryKey of POLLED_KEYS) void queryClient.invalidateQueries({ queryKey });
  }, ms);
  return () => clearInterval(timer);
}

/**
 * Keeps the screens current without a reload: subscribes to the server's domain
 * events and invalidates the queries each one touches. While the stream is
 * missing or down it polls instead, and tries the stream again now and then.
 */
export function LiveUpdatesProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<LiveMode>('connecting');

  useEffect(() => {
    let stopPolling: (() => void) | null = null;
    let stream: EventStream | null = null;
    let reopen: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;
    let everOpen = false;

    const poll = (on: boolean) => {
      if (on && !stopPolling) stopPolling = pollEvery(queryClient, POLL_MS);
      if (!on && stopPolling) {
        stopPolling();
        stopPolling = null;
      }
    };
    const onState = (state: StreamState) => {
      if (state === 'open') {
        poll(false);
        setMode('live');
        // Back after a gap: what changed meanwhile is refetched.
        if (everOpen) void queryClient.invalidateQueries();
        everOpen = true;
      } else if (state === 'reconnecting' || state === 'failed') {
        poll(true);
        setMode('polling');
        if (state === 'failed' && !disposed) reopen = setTimeout(open, REOPEN_MS);
      }
    };
    function open() {
      stream = openEventStream(EVENTS_URL, {
        types: EVENT_TYPES,
        onState,
        onEvent: (event) => {
          const data = parseEventData(event.data);
          for (const queryKey of invalidationsFor(eventType(event.type, data), data)) {
            void queryClient.invalidateQueries({ queryKey });
          }
        },
      });
    }
    open();
    return () => {
      disposed = true;
      clearTimeout(reopen);
      stream?.close();
      poll(false);
    };
  }, [queryClient]);

  return <LiveModeContext.Provider value={mode}>{children}</LiveModeContext.Provider>;
}
