// @vitest-environment happy-dom
import { renderHook, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { fakeServer } from '@/test/fake-server';

import { useLog } from '../api/use-log';

const encoder = new TextEncoder();

/** A job's log file as the server holds it; it grows while the job runs. */
class LogFile {
  bytes = new Uint8Array();
  write(text: string) {
    const more = encoder.encode(text);
    const next = new Uint8Array(this.bytes.length + more.length);
    next.set(this.bytes);
    next.set(more, this.bytes.length);
    this.bytes = next;
  }
  get size() {
    return this.bytes.length;
  }
}

/**
 * EventSource as a browser has it, with the stream the server sends: one event per
 * line written, `id:` the byte offset after it, data the line as a JSON string.
 * A dropped connection is reconnected by the same object, which asks the server
 * to resume at the last event id it saw (`Last-Event-ID`).
 */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static opened: FakeEventSource[] = [];
  static log: LogFile;

  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  /** Where the server's stream is: the byte offset of the next event. */
  position: number;
  /** What the browser would send as `Last-Event-ID` on a reconnection. */
  lastEventId = '';

  constructor(readonly url: string) {
    this.position = Number(new URL(url, 'http://localhost').searchParams.get('offset') ?? 0);
    FakeEventSource.opened.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }

  connect() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  /** The connection drops; the browser will reconnect. */
  drop() {
    this.readyState = FakeEventSource.CONNECTING;
    this.onerror?.();
  }
  /** The browser reconnects: the server resumes at Last-Event-ID. */
  reconnect() {
    // A closed EventSource stays closed.
    if (this.readyState === FakeEventSource.CLOSED) throw new Error('closed: no reconnection');
    this.position = Number(this.lastEventId);
    this.connect();
  }
  /** The connection fails for good (a 5xx on reconnecting): the browser gives up. */
  fail() {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
  /** The server sends every line written since `position`. */
  sendNew() {
    const text = new TextDecoder().decode(FakeEventSource.log.bytes.subarray(this.position));
    for (const line of text.split(/(?<=\n)/)) {
      if (!line) continue;
      this.position += encoder.encode(line).length;
      this.emit('message', JSON.stringify(line), String(this.position));
    }
  }
  emit(type: string, data: string, id: string) {
    if (this.readyState !== FakeEventSource.OPEN) throw new Error('not connected');
    this.lastEventId = id;
    const event = { data, lastEventId: id } as MessageEvent<string>;
    if (type === 'message') this.onmessage?.(event);
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

/** `GET /api/jobs/1/log?offset=N`: the bytes from N, and the size in X-Next-Offset. */
function logServer(log: LogFile) {
  return fakeServer({
    'GET /api/jobs/1/log': (request) => {
      const offset = Number(request.query.get('offset') ?? 0);
      const body = log.bytes.slice(Math.min(offset, log.size));
      return new Response(body, { headers: { 'X-Next-Offset': String(offset + body.length) } });
    },
  });
}

const source = { logUrl: '/api/jobs/1/log', streamUrl: '/api/jobs/1/log/stream' };
type Result = { current: ReturnType<typeof useLog> };
const textOf = (result: Result) => result.current.window.chunks.map((chunk) => chunk.text).join('');

let log: LogFile;

beforeEach(() => {
  log = new LogFile();
  FakeEventSource.opened = [];
  FakeEventSource.log = log;
  vi.stubGlobal('EventSource', FakeEventSource);
});

/** Renders the hook of a running job and waits for its stream to be opened. */
async function following() {
  const onEnd = vi.fn();
  const { result, unmount } = renderHook(() => useLog(source, true, onEnd));
  await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
  const stream = FakeEventSource.opened[0]!;
  return { result, unmount, stream, onEnd };
}

describe('useLog', () => {
  it('reads the tail, then follows the stream from where the tail ended', async () => {
    log.write('one\ntwo\n');
    const server = logServer(log);
    const { result, stream } = await following();
    expect(stream.url).toBe('/api/jobs/1/log/stream?offset=8');
    expect(textOf(result)).toBe('one\ntwo\n');
    expect(server.requests.map((request) => request.query.get('offset'))).toEqual(['0']);

    stream.connect();
    log.write('three\n');
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\nthree\n'));
    expect(result.current.mode).toBe('stream');
  });

  it('resumes after a dropped connection without losing or repeating lines', async () => {
    log.write('one\n');
    const server = logServer(log);
    const { result, stream } = await following();
    stream.connect();
    log.write('two\nthree\n');
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\nthree\n'));

    stream.drop();
    // Written while the browser was disconnected.
    log.write('four\nfive\n');
    stream.reconnect();
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\nthree\nfour\nfive\n'));

    // The same EventSource resumed; nothing polled, no second stream.
    expect(FakeEventSource.opened).toHaveLength(1);
    expect(result.current.mode).toBe('stream');
    expect(server.requests).toHaveLength(1);
    expect(result.current.window).toMatchObject({ start: 0, end: log.size });
  });

  it('drops what a resumed stream sends again', async () => {
    log.write('one\n');
    logServer(log);
    const { result, stream } = await following();
    stream.connect();
    log.write('two\nthree\n');
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\nthree\n'));

    stream.drop();
    log.write('four\n');
    // A server (or a proxy) that resumes a little early: from the start of "two".
    stream.lastEventId = '4';
    stream.reconnect();
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toContain('four\n'));
    expect(textOf(result)).toBe('one\ntwo\nthree\nfour\n');
    expect(result.current.window.end).toBe(log.size);
  });

  it('reads on by offset when the stream fails for good', async () => {
    log.write('one\n');
    const server = logServer(log);
    const { result, stream, unmount } = await following();
    stream.connect();
    log.write('two\n');
    stream.sendNew();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\n'));

    log.write('three\n');
    stream.fail();
    await waitFor(() => expect(textOf(result)).toBe('one\ntwo\nthree\n'));
    expect(result.current.mode).toBe('polling');
    // The first poll asked for what follows the bytes held, not for the whole log.
    expect(server.requests[1]?.query.get('offset')).toBe('8');
    unmount();
  });

  it('stops at the end event and reports the outcome', async () => {
    log.write('one\n');
    logServer(log);
    const { result, stream, onEnd } = await following();
    stream.connect();
    log.write('done\n');
    stream.sendNew();
    stream.emit('end', JSON.stringify({ status: 'succeeded' }), String(log.size));
    await waitFor(() => expect(onEnd).toHaveBeenCalledWith('succeeded'));
    // The hook flushes the held lines before it reports the end; React renders them
    // on its own schedule (a loaded machine may not have yet).
    await waitFor(() => expect(textOf(result)).toBe('one\ndone\n'));
    expect(result.current.mode).toBe('idle');
    expect(stream.readyState).toBe(FakeEventSource.CLOSED);
  });
});
