import { describe, expect, it } from 'vitest';

import type { Revision } from '@/lib/api-types';

import { revisionFiles, settingsText } from '../utils/revision-text';

const revision: Revision = {
  number: 2,
  created_at: '2026-01-01T00:00:00Z',
  content_hash: 'abc',
  files: [
    { path: 'main.py', size: 6, content: 'print()', encoding: 'utf-8' },
    { path: 'data.bin', size: 3, content: 'AAEC', encoding: 'base64' },
  ],
  settings: {
    image_id: 1,
    entry_file: 'main.py',
    env: [
      { name: 'TOKEN', secret: true, value: null, is_set: true },
      { name: 'A', secret: false, value: '1', is_set: true },
    ],
    args: ['x'],
    limits: { memory_mb: 512, cpus: null, pids: 10 },
    timeout_seconds: null,
    network_mode: 'none',
    log_limit_bytes: null,
    read_only_root: false,
  },
};

describe('revision text', () => {
  it('gives text files as they are, binary ones as a note', () => {
    const files = revisionFiles(revision);
    expect(files['main.py']).toBe('print()');
    expect(files['data.bin']).toMatch(/^\(binary file, 3 bytes/);
  });

  it('lists the settings one per line, secrets without values', () => {
    const text = settingsText(revision);
    expect(text).toContain('env: TOKEN=(secret)\n');
    expect(text).toContain('env: A=1\n');
    expect(text).toContain('memory limit: 512 MB\n');
    expect(text).toContain('cpu limit: none\n');
    expect(text).toContain('timeout: none\n');
    expect(text).toContain('arguments: ["x"]\n');
    expect(text).toContain('root file system: writable\n');
  });
});
