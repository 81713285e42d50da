/** A file's bytes as editor text, or null when they are not UTF-8 (a binary file). */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
