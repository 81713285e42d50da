/** Reading the events of a log stream (`GET .../log/stream`, `.../build-log/stream`). */
import { utf8Length } from '@/lib/text';

/**
 * The text of one log event. The data is a JSON string (or an object with the
 * text in `text`/`data`/`chunk`/`content`); raw text is taken as is. Raw SSE data
 * loses a final newline (data lines are joined without one): when the event's id,
 * a byte offset, says one byte more than the text has, the newline is put back.
 */
export function logTextOf(data: string, bytes: number | null): string {
  let text: string | null = null;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === 'string') text = value;
    else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      const field = ['text', 'data', 'chunk', 'content', 'line'].find(
        (key) => typeof record[key] === 'string',
      );
      if (field) text = record[field] as string;
    }
  } catch {
    // not JSON: raw text
  }
  if (text === null) {
    text = data;
    if (bytes !== null && utf8Length(text) + 1 === bytes) text += '\n';
  }
  return text;
}

/** The status in an `end` event's data: `"succeeded"`, or `{"status": "succeeded"}`. */
export function endStatusOf(data: string): string | null {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === 'string') return value;
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { status?: unknown }).status === 'string'
    ) {
      return (value as { status: string }).status;
    }
  } catch {
    return data.trim() || null;
  }
  return null;
}

/** The byte offset in an event id, or null when the id is not one. */
export function offsetOf(id: string | null): number | null {
  if (id === null || !/^\d+$/.test(id.trim())) return null;
  return Number(id);
}
