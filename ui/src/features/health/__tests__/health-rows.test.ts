import { describe, expect, it } from 'vitest';

import { parseHealth, type Health } from '../api/get-health';
import { summarize, toHealthRows } from '../utils/health-rows';

const healthy: Health = {
  status: 'ok',
  checks: {
    docker: { status: 'ok', detail: 'Docker 20.10.24' },
    broker: { status: 'ok' },
    db: { status: 'ok' },
  },
};

describe('toHealthRows', () => {
  it('lists db, broker, docker in that order with readable labels', () => {
    expect(toHealthRows(healthy)).toEqual([
      { name: 'db', status: 'ok', label: 'db: ok' },
      { name: 'broker', status: 'ok', label: 'broker: ok' },
      { name: 'docker', status: 'ok', label: 'docker: ok', detail: 'Docker 20.10.24' },
    ]);
  });

  it('marks an absent check as missing and puts unknown ones last, by name', () => {
    const rows = toHealthRows({
      status: 'error',
      checks: {
        zeta: { status: 'ok' },
        db: { status: 'error', detail: 'database is locked' },
        alpha: { status: 'error' },
        docker: { status: 'ok' },
      },
    });
    expect(rows.map((row) => row.label)).toEqual([
      'db: error',
      'broker: missing',
      'docker: ok',
      'alpha: error',
      'zeta: ok',
    ]);
    expect(rows[0]?.detail).toBe('database is locked');
  });
});

describe('summarize', () => {
  it('says all is well when every check is ok', () => {
    expect(summarize(toHealthRows(healthy))).toEqual({
      ok: true,
      text: 'All systems operational',
    });
  });

  it('names the failing checks', () => {
    const rows = toHealthRows({
      status: 'error',
      checks: { db: { status: 'ok' }, broker: { status: 'error' }, docker: { status: 'error' } },
    });
    expect(summarize(rows)).toEqual({ ok: false, text: 'Not healthy: broker, docker' });
  });
});

describe('parseHealth', () => {
  it('keeps status and detail and treats anything but "ok" as an error', () => {
    expect(
      parseHealth({
        status: 'error',
        checks: {
          db: { status: 'ok' },
          broker: { status: 'down', detail: 'connection refused' },
          docker: 'nonsense',
        },
      }),
    ).toEqual({
      status: 'error',
      checks: {
        db: { status: 'ok' },
        broker: { status: 'error', detail: 'connection refused' },
        docker: { status: 'error' },
      },
    });
  });

  it('rejects a body without checks', () => {
    expect(() => parseHealth({ status: 'ok' })).toThrow('Unexpected /healthz response');
    expect(() => parseHealth('<html>')).toThrow();
  });
});
