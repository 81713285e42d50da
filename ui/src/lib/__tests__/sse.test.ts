import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { openEventStream, type SseEvent, type StreamState } from '../sse';

/** Just enough of EventSource to drive the wrapper. */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static last: FakeEventSource | null = null;
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  listeners = new Map<string, (event: MessageEvent<string>) => void>();
  closed = false;

  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, listener);
  }
  close() {
    this.closed = true;
    this.readyState = FakeEventSource.CLOSED;
  }
  emit(type: string, data: string, lastEventId = '') {
    const event = { data, lastEventId } as MessageEvent<string>;
    if (type === 'message') this.onmessage?.(event);
    else this.listeners.get(type)?.(event);
  }
}

beforeEach(() => {
  vi.stubGlobal('EventSource', FakeEventSource);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('openEventStream', () => {
  it('delivers unnamed and named events with their ids, and reports the states', () => {
    const events: SseEvent[] = [];
    const states: StreamState[] = [];
    openEventStream('/api/jobs/1/log/stream?offset=0', {
      types: ['end'],
      onEvent: (event) => events.push(event),
      onState: (state) => states.push(state),
    });
    const source = FakeEventSource.last!;
    expect(source.url).toBe('/api/jobs/1/log/stream?offset=0');
    source.readyState = FakeEventSource.OPEN;
    source.onopen?.();
    source.emit('message', '"tick 1\\n"', '7');
    source.emit('end', '{"status":"succeeded"}', '7');
    source.emit('other', 'not listened to');
    expect(events).toEqual([
      { type: 'message', data: '"tick 1\\n"', id: '7' },
      { type: 'end', data: '{"status":"succeeded"}', id: '7' },
    ]);
    expect(states).toEqual(['connecting', 'open']);
  });

  it('says reconnecting while EventSource retries, failed when it gave up', () => {
    const states: StreamState[] = [];
    openEventStream('/x', { onEvent: () => {}, onState: (state) => states.push(state) });
    const source = FakeEventSource.last!;
    source.readyState = FakeEventSource.CONNECTING;
    source.onerror?.();
    source.readyState = FakeEventSource.CLOSED;
    source.onerror?.();
    source.onerror?.();
    expect(states).toEqual(['connecting', 'reconnecting', 'failed']);
  });

  it('delivers nothing after close', () => {
    const events: SseEvent[] = [];
    const stream = openEventStream('/x', { onEvent: (event) => events.push(event) });
    const source = FakeEventSource.last!;
    stream.close();
    source.emit('message', 'late');
    expect(events).toEqual([]);
    expect(source.closed).toBe(true);
  });

  it('fails at once where there is no EventSource', async () => {
    vi.stubGlobal('EventSource', undefined);
    const states: StreamState[] = [];
    openEventStream('/x', { onEvent: () => {}, onState: (state) => states.push(state) });
    await Promise.resolve();
    expect(states).toEqual(['failed']);
  });
});
