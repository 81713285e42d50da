export const scheduleKeys = {
  all: ['schedules'] as const,
  byScript: (scriptId: number) => ['schedules', 'script', scriptId] as const,
  upcoming: () => ['schedules', 'upcoming'] as const,
  history: (id: number) => ['schedules', 'history', id] as const,
  preview: (cron: string, timezone: string, count: number) =>
    ['schedules', 'preview', cron, timezone, count] as const,
};
