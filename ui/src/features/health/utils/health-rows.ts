import type { Health } from '../api/get-health';

/** The checks the server always reports, in the order the panel shows them. */
export const EXPECTED_CHECKS = ['db', 'broker', 'docker'] as const;

export type HealthRowStatus = 'ok' | 'error' | 'missing';

export type HealthRow = {
  name: string;
  status: HealthRowStatus;
  /** What a screen reader (and everyone else) reads: "db: ok". */
  label: string;
  detail?: string;
};

/**
 * One row per check: the expected ones first (marked "missing" when the
 * server left one out), then any others the server added, by name.
 */
export function toHealthRows(health: Health): HealthRow[] {
  const expected: readonly string[] = EXPECTED_CHECKS;
  const extra = Object.keys(health.checks)
    .filter((name) => !expected.includes(name))
    .sort();
  return [...expected, ...extra].map((name) => {
    const check = health.checks[name];
    const status: HealthRowStatus = check ? check.status : 'missing';
    const row: HealthRow = { name, status, label: `${name}: ${status}` };
    if (check?.detail) row.detail = check.detail;
    return row;
  });
}

/** A one-line summary for the panel's header. */
export function summarize(rows: HealthRow[]): { ok: boolean; text: string } {
  const failing = rows.filter((row) => row.status !== 'ok').map((row) => row.name);
  if (failing.length === 0) return { ok: true, text: 'All systems operational' };
  return { ok: false, text: `Not healthy: ${failing.join(', ')}` };
}
