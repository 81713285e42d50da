import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';

import { imageKeys } from '@/features/images/api/keys';
import { jobKeys } from '@/features/jobs/api/keys';
import { scheduleKeys } from '@/features/schedules/api/keys';
import { scriptKeys } from '@/features/scripts/api/keys';

import {
  EVENT_TYPES,
  eventType,
  EVERYTHING,
  invalidationsFor,
  parseEventData,
} from '../utils/invalidations';

/** A client with one cached query per screen, and which of them an event makes stale. */
function staleAfter(type: string, data: Record<string, unknown>): string[] {
  const client = new QueryClient();
  const keys = {
    images: imageKeys.list({}),
    image3: imageKeys.detail(3),
    image4: imageKeys.detail(4),
    imageFile3: imageKeys.file(3, 'Dockerfile'),
    scripts: scriptKeys.list({}),
    script5: scriptKeys.detail(5),
    revisions5: scriptKeys.revisions(5),
    scriptFile5: scriptKeys.file(5, 'main.py'),
    jobs: jobKeys.list({ limit: 10 }),
    scriptJobs: jobKeys.list({ script_id: 5 }),
    job7: jobKeys.detail(7),
    job8: jobKeys.detail(8),
    schedules5: scheduleKeys.byScript(5),
    history2: scheduleKeys.history(2),
    upcoming: scheduleKeys.upcoming(),
    health: ['health'],
  };
  for (const key of Object.values(keys)) client.setQueryData(key, {});
  for (const queryKey of invalidationsFor(type, data))
    void client.invalidateQueries({ queryKey }, { cancelRefetch: false });
  return Object.entries(keys)
    .filter(([, key]) => client.getQueryState(key)?.isInvalidated)
    .map(([name]) => name)
    .sort();
}

describe('invalidationsFor', () => {
  it('refreshes the image lists and that image on its build events', () => {
    for (const type of [
      'image.build_started',
      'image.built',
      'image.build_failed',
      'image.destroyed',
    ]) {
      expect(staleAfter(type, { image_id: 3 })).toEqual(['image3', 'images']);
    }
  });

  it('refreshes a saved script, its revisions and the next runs that name it, not its files (the editor owns them)', () => {
    expect(staleAfter('script.saved', { script_id: 5, revision: 2 })).toEqual([
      'revisions5',
      'script5',
      'scripts',
      'upcoming',
    ]);
  });

  it('refreshes job lists and the job on job events', () => {
    expect(staleAfter('job.started', { job_id: 7, script_id: 5 })).toEqual([
      'job7',
      'jobs',
      'scriptJobs',
    ]);
    expect(staleAfter('job.finished', { job_id: 7, script_id: 5, status: 'failed' })).toEqual([
      'history2',
      'job7',
      'jobs',
      'schedules5',
      'scriptJobs',
      'upcoming',
    ]);
  });

  it('refreshes schedules and jobs when a schedule fires', () => {
    expect(staleAfter('schedule.fired', { schedule_id: 2, job_id: 8 })).toEqual([
      'history2',
      'jobs',
      'schedules5',
      'scriptJobs',
      'upcoming',
    ]);
  });

  it('ignores ticks and types it does not know', () => {
    expect(staleAfter('schedule.tick', { schedule_id: 2 })).toEqual([]);
    expect(staleAfter('something.new', {})).toEqual([]);
  });

  it('refreshes everything on resync (events were lost)', () => {
    expect(invalidationsFor('resync', {})).toEqual([EVERYTHING]);
    expect(staleAfter('resync', {})).toHaveLength(16);
  });

  it('listens to every type it maps', () => {
    for (const type of EVENT_TYPES) expect(type).toMatch(/^[a-z_]+(\.[a-z_]+)?$/);
    expect(EVENT_TYPES).toContain('job.finished');
    expect(EVENT_TYPES).toContain('resync');
  });
});

describe('event data', () => {
  it('parses the JSON of an event, and its type', () => {
    const data = parseEventData('{"type":"job.finished","job_id":7}');
    expect(data).toEqual({ type: 'job.finished', job_id: 7 });
    expect(eventType('job.finished', data)).toBe('job.finished');
    expect(eventType('message', data)).toBe('job.finished');
    expect(parseEventData('not json')).toEqual({});
    expect(parseEventData('[1]')).toEqual({});
  });
});
