import { describe, expect, it } from 'vitest';

import type { Script } from '@/lib/api-types';

import { envIn, isUnchanged, parseArgs, toPatch, toValues } from '../utils/settings-form';

const script: Script = {
  id: 1,
  name: 'hello',
  description: '',
  image_id: 2,
  entry_file: 'main.py',
  env: [
    { name: 'TOKEN', secret: true, value: null, is_set: true },
    { name: 'MODE', secret: false, value: 'fast', is_set: true },
  ],
  args: ['--verbose'],
  limits: { memory_mb: 512, cpus: 1, pids: 256 },
  timeout_seconds: 3600,
  network_mode: 'none',
  log_limit_bytes: null,
  read_only_root: null,
  keep_last: null,
  keep_days: null,
  current_revision: 3,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

describe('toValues', () => {
  it('never holds a secret value: a stored secret is marked, its value empty', () => {
    const values = toValues(script);
    expect(
      values.env.map(({ name, value, secret, stored }) => ({ name, value, secret, stored })),
    ).toEqual([
      { name: 'TOKEN', value: '', secret: true, stored: true },
      { name: 'MODE', value: 'fast', secret: false, stored: false },
    ]);
    expect(values.memory_mb).toBe('512');
    expect(values.log_limit_bytes).toBe('');
    expect(values.args).toBe('--verbose');
  });
});

describe('toPatch', () => {
  it('sends nothing when nothing changed', () => {
    expect(toPatch(toValues(script), script)).toEqual({ body: {}, errors: {} });
    expect(isUnchanged(toValues(script), script)).toBe(true);
  });

  it('sends only what changed', () => {
    const values = {
      ...toValues(script),
      name: ' renamed ',
      timeout_seconds: '',
      memory_mb: '1024',
    };
    expect(toPatch(values, script)).toEqual({
      body: { name: 'renamed', timeout_seconds: null, limits: { memory_mb: 1024 } },
      errors: {},
    });
  });

  it('keeps an untouched secret (value null), sends a new one', () => {
    const values = toValues(script);
    values.env[1] = { ...values.env[1]!, value: 'slow' };
    expect(toPatch(values, script).body.env).toEqual([
      { name: 'TOKEN', secret: true, value: null },
      { name: 'MODE', secret: false, value: 'slow' },
    ]);
    values.env[0] = { ...values.env[0]!, value: 'new-secret' };
    expect(toPatch(values, script).body.env?.[0]).toEqual({
      name: 'TOKEN',
      secret: true,
      value: 'new-secret',
    });
  });

  it('sends the root file system choice as true, false or null (the default)', () => {
    expect(toValues(script).root).toBe('default');
    expect(toPatch({ ...toValues(script), root: 'writable' }, script).body).toEqual({
      read_only_root: false,
    });
    const writable: Script = { ...script, read_only_root: false };
    expect(toValues(writable).root).toBe('writable');
    expect(toPatch({ ...toValues(writable), root: 'default' }, writable).body).toEqual({
      read_only_root: null,
    });
    expect(toPatch({ ...toValues(writable), root: 'read-only' }, writable).body).toEqual({
      read_only_root: true,
    });
  });

  it('refuses what is not a number before asking the server', () => {
    const values = { ...toValues(script), cpus: 'two', pids: '1.5' };
    expect(toPatch(values, script).errors).toEqual({
      'limits.cpus': 'Must be a number, or empty for none.',
      'limits.pids': 'Must be a whole number, or empty for none.',
    });
  });

  it('reads arguments one per line', () => {
    expect(parseArgs('a b\n\n--x=1\r\n')).toEqual(['a b', '--x=1']);
    const values = { ...toValues(script), args: '' };
    expect(toPatch(values, script).body).toEqual({ args: [] });
  });
});

describe('envIn', () => {
  it('skips empty rows and trims names', () => {
    expect(
      envIn([
        { key: 1, name: ' A ', value: '1', secret: false, stored: false },
        { key: 2, name: '', value: '', secret: false, stored: false },
      ]),
    ).toEqual([{ name: 'A', secret: false, value: '1' }]);
  });
});
