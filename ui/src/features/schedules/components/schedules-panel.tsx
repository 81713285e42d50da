import { useState } from 'react';
import { Link } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Empty } from '@/components/ui/empty';
import { Loading } from '@/components/ui/loading';
import { RelativeTime } from '@/components/ui/time';
import type { Schedule } from '@/lib/api-types';
import { formatDateTime } from '@/lib/format';
import { describeError } from '@/lib/problems';

import { useCreateSchedule } from '../api/create-schedule';
import { useDeleteSchedule } from '../api/delete-schedule';
import { useScheduleHistory } from '../api/get-schedule-history';
import { useSchedules } from '../api/get-schedules';
import { useUpdateSchedule } from '../api/update-schedule';
import { misfireLabel, overlapLabel } from '../utils/policies';
import { describeScheduleEnv } from '../utils/schedule-env';

import { ScheduleForm } from './schedule-form';

function History({ schedule }: { schedule: Schedule }) {
  const history = useScheduleHistory(schedule.id, true);
  if (history.isPending) return <Loading label="Loading the history…" />;
  if (history.isError) return <Alert>{describeError(history.error)}</Alert>;
  if (history.data.items.length === 0) return <p className="muted">It has not fired yet.</p>;
  return (
    <ul className="list" data-testid={`schedule-history-${schedule.id}`}>
      {history.data.items.map((firing) => (
        <li key={firing.id} className="list__item">
          <Badge tone={firing.outcome === 'fired' ? 'success' : 'warning'}>{firing.outcome}</Badge>
          <span>{formatDateTime(firing.fire_time, schedule.timezone)}</span>
          {firing.job_id !== null && (
            <Link to={`/jobs/${firing.job_id}`}>job #{firing.job_id}</Link>
          )}
          {firing.reason && <span className="muted">{firing.reason}</span>}
        </li>
      ))}
    </ul>
  );
}

function ScheduleItem({ schedule }: { schedule: Schedule }) {
  const env = describeScheduleEnv(schedule.env);
  const [editing, setEditing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const update = useUpdateSchedule({ onSuccess: () => setEditing(false) });
  const toggle = useUpdateSchedule();
  const remove = useDeleteSchedule();

  if (editing) {
    return (
      <li className="schedule schedule--editing">
        <ScheduleForm
          idPrefix={`schedule-${schedule.id}`}
          initial={schedule}
          submitLabel="Save schedule"
          busy={update.isPending}
          error={update.error}
          onSubmit={(body) => update.mutate({ id: schedule.id, body })}
          onCancel={() => {
            update.reset();
            setEditing(false);
          }}
        />
      </li>
    );
  }
  return (
    <li className="schedule" data-testid={`schedule-${schedule.id}`}>
      <div className="schedule__main">
        <code className="schedule__cron">{schedule.cron}</code>
        <span className="muted">{schedule.timezone}</span>
        <Badge tone={schedule.enabled ? 'success' : 'neutral'}>
          {schedule.enabled ? 'enabled' : 'paused'}
        </Badge>
        {schedule.description && <span className="schedule__words">{schedule.description}</span>}
      </div>
      <div className="schedule__facts">
        <span>
          Next run:{' '}
          {schedule.enabled && schedule.next_run_at ? (
            <span title={formatDateTime(schedule.next_run_at, schedule.timezone)}>
              <RelativeTime iso={schedule.next_run_at} />
            </span>
          ) : (
            '—'
          )}
        </span>
        <span>Missed runs: {misfireLabel(schedule.misfire_policy)}</span>
        <span>Overlap: {overlapLabel(schedule.overlap_policy)}</span>
        <span>
          Arguments:{' '}
          {schedule.args === null ? (
            'the script’s defaults'
          ) : schedule.args.length ? (
            <code>{schedule.args.join(' ')}</code>
          ) : (
            'none'
          )}
        </span>
        {env && (
          <span>
            Environment: <code>{env}</code>
          </span>
        )}
      </div>
      {toggle.isError && <Alert>{describeError(toggle.error)}</Alert>}
      <div className="button-row">
        <Button onClick={() => setEditing(true)}>Edit</Button>
        <Button
          onClick={() => toggle.mutate({ id: schedule.id, body: { enabled: !schedule.enabled } })}
          busy={toggle.isPending}
        >
          {schedule.enabled ? 'Pause' : 'Enable'}
        </Button>
        <Button
          variant="ghost"
          onClick={() => setShowHistory((shown) => !shown)}
          aria-expanded={showHistory}
        >
          History
        </Button>
        <Button variant="ghost" onClick={() => setConfirmDelete(true)}>
          Delete
        </Button>
      </div>
      {showHistory && <History schedule={schedule} />}
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this schedule?"
        confirmLabel="Delete schedule"
        danger
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => remove.mutate(schedule.id, { onSuccess: () => setConfirmDelete(false) })}
        onCancel={() => setConfirmDelete(false)}
      >
        <p>
          <code>{schedule.cron}</code> stops firing. Jobs it started stay in the history.
        </p>
      </ConfirmDialog>
    </li>
  );
}

/** The script's cron schedules: list, add (with a preview of the next runs), edit, pause, delete. */
export function SchedulesPanel({ scriptId }: { scriptId: number }) {
  const schedules = useSchedules(scriptId);
  const [adding, setAdding] = useState(false);
  const create = useCreateSchedule(scriptId, { onSuccess: () => setAdding(false) });

  if (schedules.isPending) return <Loading label="Loading schedules…" />;
  if (schedules.isError)
    return <Alert>Could not load the schedules: {describeError(schedules.error)}</Alert>;
  return (
    <div className="stack">
      {schedules.data.length === 0 && !adding && (
        <Empty>No schedule: the script runs only when started.</Empty>
      )}
      {schedules.data.length > 0 && (
        <ul className="schedules">
          {schedules.data.map((schedule) => (
            <ScheduleItem key={schedule.id} schedule={schedule} />
          ))}
        </ul>
      )}
      {adding ? (
        <section className="card">
          <h3 className="subheading">New schedule</h3>
          <ScheduleForm
            idPrefix="schedule-new"
            submitLabel="Add schedule"
            busy={create.isPending}
            error={create.error}
            onSubmit={(body) => create.mutate(body)}
            onCancel={() => {
              create.reset();
              setAdding(false);
            }}
          />
        </section>
      ) : (
        <div>
          <Button variant="primary" onClick={() => setAdding(true)} data-testid="add-schedule">
            Add schedule
          </Button>
        </div>
      )}
    </div>
  );
}
