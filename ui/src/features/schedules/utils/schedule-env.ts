/**
 * A schedule's environment overrides in the form's editor and back. The server
 * shows the value of an override of a secret variable (of the script) as null and
 * reads a null sent back as "keep the stored value": such a row is `stored` with an
 * empty value, and is sent back as null until a new value is typed.
 */
import { newEnvRow, type EnvRow } from '@/features/scripts/utils/settings-form';

export type ScheduleEnv = Record<string, string | null>;

export function scheduleEnvRows(env: ScheduleEnv | undefined): EnvRow[] {
  return Object.entries(env ?? {}).map(([name, value]) => ({
    ...newEnvRow(),
    name,
    value: value ?? '',
    secret: value === null,
    stored: value === null,
  }));
}

/** The `env` of a POST or PATCH (later rows win; rows without a name are dropped). */
export function scheduleEnvBody(rows: EnvRow[]): ScheduleEnv {
  const env: ScheduleEnv = {};
  for (const row of rows) {
    const name = row.name.trim();
    if (name) env[name] = row.stored && row.value === '' ? null : row.value;
  }
  return env;
}

/**
 * The editor's messages (`env[2]`) from the placed problem's: the server names an
 * override `env.NAME`, the editor knows rows by their place.
 */
export function scheduleEnvErrors(
  fields: Record<string, string> | undefined,
  rows: EnvRow[],
): Record<string, string> {
  if (!fields) return {};
  const errors: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const [field, message] of Object.entries(fields)) {
    if (field === 'env') unplaced.push(message);
    if (!field.startsWith('env.')) continue;
    const name = field.slice('env.'.length);
    const index = rows.findIndex((row) => row.name.trim() === name);
    if (index === -1) unplaced.push(message);
    else errors[`env[${index}]`] = message;
  }
  if (unplaced.length) errors.env = unplaced.join(' ');
  return errors;
}

/** One line for the schedule's facts: `MODE=slow TOKEN=(secret)`. */
export function describeScheduleEnv(env: ScheduleEnv): string | null {
  const entries = Object.entries(env);
  if (!entries.length) return null;
  return entries.map(([name, value]) => `${name}=${value ?? '(secret)'}`).join(' ');
}
