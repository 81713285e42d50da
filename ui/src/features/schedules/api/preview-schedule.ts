import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, unwrap } from '@/lib/api-client';
import type { PreviewResult } from '@/lib/api-types';

import { scheduleKeys } from './keys';

/** The next `count` fire times of a cron expression in a timezone; nothing is saved. */
export function previewSchedule(
  cron: string,
  timezone: string,
  count: number,
): Promise<PreviewResult> {
  return unwrap(
    client.POST('/api/schedules/preview', { body: { cron, timezone: timezone || null, count } }),
  );
}

export const schedulePreviewQueryOptions = (cron: string, timezone: string, count = 5) =>
  queryOptions({
    queryKey: scheduleKeys.preview(cron, timezone, count),
    queryFn: () => previewSchedule(cron, timezone, count),
    staleTime: 30_000,
    retry: false,
    placeholderData: keepPreviousData,
  });

export const useSchedulePreview = (cron: string, timezone: string, count = 5) =>
  useQuery({ ...schedulePreviewQueryOptions(cron, timezone, count), enabled: cron.trim() !== '' });
