/**
 * Server-sent events through the browser's `EventSource`.
 *
 * EventSource reconnects by itself after a dropped connection and sends the last
 * event id as `Last-Event-ID`: the server resumes a log at that byte offset, and
 * tells the domain-event stream to say `resync`. What it cannot do is say why a
 * connection failed for good (a 404 where the server has no such stream, or a
 * 5xx): both end with `readyState` CLOSED, reported here as `failed`, and the
 * caller falls back to polling.
 */

export type SseEvent = {
  /** The `event:` field; `message` when there was none. */
  type: string;
  data: string;
  /** The last `id:` the stream sent ('' when none). */
  id: string;
};

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

export type EventStreamOptions = {
  /** Named event types to listen to (`end`, `job.finished`...); `message` always. */
  types?: readonly string[];
  onEvent: (event: SseEvent) => void;
  onState?: (state: StreamState) => void;
};

export type EventStream = { close(): void };

/** Whether this browser (or test environment) has EventSource at all. */
export const hasEventSource = () => typeof globalThis.EventSource === 'function';

export function openEventStream(url: string, options: EventStreamOptions): EventStream {
  const { types = [], onEvent, onState } = options;
  let closed = false;
  if (!hasEventSource()) {
    queueMicrotask(() => onState?.('failed'));
    return { close() {} };
  }
  const source = new EventSource(url);
  onState?.('connecting');
  const deliver = (type: string) => (event: MessageEvent<string>) => {
    if (!closed) onEvent({ type, data: event.data, id: event.lastEventId });
  };
  source.onmessage = deliver('message');
  for (const type of types) source.addEventListener(type, deliver(type) as EventListener);
  source.onopen = () => {
    if (!closed) onState?.('open');
  };
  source.onerror = () => {
    if (closed) return;
    if (source.readyState === EventSource.CLOSED) {
      closed = true;
      onState?.('failed');
    } else {
      onState?.('reconnecting');
    }
  };
  return {
    close() {
      if (closed) return;
      closed = true;
      source.close();
      onState?.('closed');
    },
  };
}
