import type { MisfirePolicy, OverlapPolicy } from '@/lib/api-types';

/** What each policy does, in words: shown beside the choice and in the list. */
export const MISFIRE_POLICIES: Array<{ value: MisfirePolicy; label: string; explanation: string }> =
  [
    {
      value: 'skip',
      label: 'Skip missed runs',
      explanation:
        'If Scripter was down when a run was due, the missed times are recorded as skipped (with the reason) and the schedule waits for its next time.',
    },
    {
      value: 'run_once',
      label: 'Run once after downtime',
      explanation:
        'If runs were missed while Scripter was down, it runs once as soon as it is back, for all of them together, then keeps to the schedule.',
    },
  ];

export const OVERLAP_POLICIES: Array<{ value: OverlapPolicy; label: string; explanation: string }> =
  [
    {
      value: 'allow',
      label: 'Allow',
      explanation:
        'A new run starts on time even while the previous one still runs: several may run at once.',
    },
    {
      value: 'skip',
      label: 'Skip',
      explanation:
        'While the previous run still runs, a due time is recorded as skipped: never two at once, none cut short.',
    },
    {
      value: 'replace',
      label: 'Replace',
      explanation:
        'The previous run, if still running, is cancelled and the new one starts: the newest run always wins.',
    },
  ];

export const misfireLabel = (value: string) =>
  MISFIRE_POLICIES.find((policy) => policy.value === value)?.label ?? value;
export const overlapLabel = (value: string) =>
  OVERLAP_POLICIES.find((policy) => policy.value === value)?.label ?? value;

export const CRON_PRESETS: Array<{ cron: string; label: string }> = [
  { cron: '*/5 * * * *', label: 'Every 5 minutes' },
  { cron: '0 * * * *', label: 'Hourly' },
  { cron: '0 6 * * *', label: 'Daily at 06:00' },
  { cron: '0 9 * * 1-5', label: 'Weekdays at 09:00' },
  { cron: '0 0 1 * *', label: 'Monthly' },
];

/** The browser's timezone, the default for a new schedule. */
export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? ['UTC'];
  } catch {
    return ['UTC'];
  }
}
