/**
 * Which cached queries a domain event makes stale. The events come from
 * `GET /api/events/stream` (`event: job.finished`, `data: {"job_id": 3, ...}`);
 * invalidating refetches only the queries some screen shows right now.
 */
import type { QueryKey } from '@tanstack/react-query';

import { imageKeys } from '@/features/images/api/keys';
import { jobKeys } from '@/features/jobs/api/keys';
import { scheduleKeys } from '@/features/schedules/api/keys';
import { scriptKeys } from '@/features/scripts/api/keys';

export type DomainEventData = Record<string, unknown>;

const id = (data: DomainEventData, key: string): number | null => {
  const value = data[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
};

/**
 * The event types the stream sends (`event: <type>`). EventSource delivers a
 * named event only to a listener of that name, so they are listed here; the
 * type tags of `scripter/domain/events.py`, plus the stream's own `resync`.
 */
export const EVENT_TYPES = [
  'image.created',
  'image.deleted',
  'image.build_requested',
  'image.build_started',
  'image.built',
  'image.build_failed',
  'image.destroyed',
  'script.saved',
  'script.deleted',
  'job.requested',
  'job.started',
  'job.finished',
  'job.cancel_requested',
  'schedule.fired',
  'schedule.skipped',
  'resync',
] as const;

/** Matches every query: after `resync` (events were lost) everything is refetched. */
export const EVERYTHING: QueryKey = [];

export function invalidationsFor(type: string, data: DomainEventData): QueryKey[] {
  if (type === 'resync') return [EVERYTHING];
  const keys: QueryKey[] = [];
  const imageId = id(data, 'image_id');
  const scriptId = id(data, 'script_id');
  const jobId = id(data, 'job_id');
  const scheduleId = id(data, 'schedule_id');
  const [area] = type.split('.');

  if (area === 'image') {
    keys.push(imageKeys.lists());
    if (imageId !== null) keys.push(imageKeys.detail(imageId));
  } else if (area === 'script') {
    keys.push(scriptKeys.lists());
    if (scriptId !== null) keys.push(scriptKeys.detail(scriptId), scriptKeys.revisions(scriptId));
    if (type === 'script.deleted') keys.push(jobKeys.lists(), scheduleKeys.all);
    // The next runs name their scripts: a rename shows there at once.
    else keys.push(scheduleKeys.upcoming());
  } else if (area === 'job') {
    keys.push(jobKeys.lists());
    if (jobId !== null) keys.push(jobKeys.detail(jobId));
    // A finished job moves its schedule's overlap state and history along.
    if (type === 'job.finished') keys.push(scheduleKeys.all);
  } else if (area === 'schedule') {
    // A tick is the scheduler's heartbeat: nothing a screen shows changes.
    if (type === 'schedule.tick') return [];
    keys.push(scheduleKeys.all);
    if (scheduleId !== null) keys.push(scheduleKeys.history(scheduleId));
    if (type === 'schedule.fired') keys.push(jobKeys.lists());
  }
  return keys;
}

/** The event's data as an object: the stream sends one JSON object per event. */
export function parseEventData(data: string): DomainEventData {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as DomainEventData)
      : {};
  } catch {
    return {};
  }
}

/** The event type: the SSE `event:` field, else the `type` in the data. */
export function eventType(sseType: string, data: DomainEventData): string {
  if (sseType && sseType !== 'message') return sseType;
  return typeof data.type === 'string' ? data.type : sseType;
}

/**
 * What to refresh while the event stream is down or absent (polling fallback):
 * the lists and details whose statuses move on their own.
 */
export const POLLED_KEYS: QueryKey[] = [imageKeys.all, jobKeys.all, scheduleKeys.upcoming()];
