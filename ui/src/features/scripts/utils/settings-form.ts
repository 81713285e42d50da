/**
 * The script settings form: the script as form values (strings, as inputs hold
 * them) and back to a PATCH body with only what changed. Secret values are never
 * known to the UI: a stored secret left empty is sent back with `value: null`,
 * which the server reads as "keep it".
 */
import type { EnvVarIn, NetworkMode, Script, ScriptUpdate } from '@/lib/api-types';

export type EnvRow = {
  /** React key; not sent. */
  key: number;
  name: string;
  value: string;
  secret: boolean;
  /** A secret the server holds a value for (and will not show). */
  stored: boolean;
};

/** The job's root file system: the server's default, read-only, or writable. */
export type RootChoice = 'default' | 'read-only' | 'writable';

export type SettingsValues = {
  name: string;
  description: string;
  image_id: string;
  entry_file: string;
  /** One argument per line. */
  args: string;
  env: EnvRow[];
  memory_mb: string;
  cpus: string;
  pids: string;
  timeout_seconds: string;
  network_mode: NetworkMode;
  log_limit_bytes: string;
  root: RootChoice;
  keep_last: string;
  keep_days: string;
};

/** The fields of the form, named as the server names them in problems. */
export const SETTINGS_FIELDS = [
  'name',
  'description',
  'image_id',
  'entry_file',
  'args',
  'env',
  'limits.memory_mb',
  'limits.cpus',
  'limits.pids',
  'limits',
  'timeout_seconds',
  'network_mode',
  'log_limit_bytes',
  'read_only_root',
  'keep_last',
  'keep_days',
] as const;

let nextKey = 1;
export const newEnvRow = (): EnvRow => ({
  key: nextKey++,
  name: '',
  value: '',
  secret: false,
  stored: false,
});

const numberText = (value: number | null | undefined) =>
  value === null || value === undefined ? '' : String(value);

export const rootChoice = (readOnly: boolean | null | undefined): RootChoice =>
  readOnly === null || readOnly === undefined ? 'default' : readOnly ? 'read-only' : 'writable';

const ROOT_SETTING: Record<RootChoice, boolean | null> = {
  default: null,
  'read-only': true,
  writable: false,
};

export function toValues(script: Script): SettingsValues {
  return {
    name: script.name,
    description: script.description,
    image_id: String(script.image_id),
    entry_file: script.entry_file,
    args: script.args.join('\n'),
    env: script.env.map((variable) => ({
      key: nextKey++,
      name: variable.name,
      value: variable.secret ? '' : (variable.value ?? ''),
      secret: variable.secret,
      stored: variable.secret && variable.is_set,
    })),
    memory_mb: numberText(script.limits.memory_mb),
    cpus: numberText(script.limits.cpus),
    pids: numberText(script.limits.pids),
    timeout_seconds: numberText(script.timeout_seconds),
    network_mode: script.network_mode,
    log_limit_bytes: numberText(script.log_limit_bytes),
    root: rootChoice(script.read_only_root),
    keep_last: numberText(script.keep_last),
    keep_days: numberText(script.keep_days),
  };
}

export function parseArgs(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line !== '');
}

export function envIn(rows: EnvRow[]): EnvVarIn[] {
  return rows
    .filter((row) => row.name.trim() !== '' || row.value !== '')
    .map((row) =>
      row.secret
        ? {
            name: row.name.trim(),
            secret: true,
            value: row.stored && row.value === '' ? null : row.value,
          }
        : { name: row.name.trim(), secret: false, value: row.value },
    );
}

type NumberRule = { integer: boolean; min?: number };

/** '' is "no limit" (null); anything else must be a number. */
function parseNumber(text: string, rule: NumberRule): { value: number | null } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { value: null };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { error: 'Must be a number, or empty for none.' };
  if (rule.integer && !Number.isInteger(value))
    return { error: 'Must be a whole number, or empty for none.' };
  if (rule.min !== undefined && value < rule.min)
    return { error: `Must be at least ${rule.min}, or empty for none.` };
  return { value };
}

export type SettingsPatch = { body: ScriptUpdate; errors: Record<string, string> };

/** What changed, as a PATCH body; `errors` holds what is not even worth sending. */
export function toPatch(values: SettingsValues, script: Script): SettingsPatch {
  const body: ScriptUpdate = {};
  const errors: Record<string, string> = {};
  const original = toValues(script);

  if (values.name.trim() !== script.name) body.name = values.name.trim();
  if (values.description !== script.description) body.description = values.description;
  if (values.image_id !== original.image_id) {
    const imageId = Number(values.image_id);
    if (Number.isInteger(imageId) && imageId > 0) body.image_id = imageId;
    else errors.image_id = 'Choose an image.';
  }
  if (values.entry_file.trim() !== script.entry_file) body.entry_file = values.entry_file.trim();
  const args = parseArgs(values.args);
  if (JSON.stringify(args) !== JSON.stringify(script.args)) body.args = args;

  const env = envIn(values.env);
  const originalEnv = envIn(original.env);
  if (JSON.stringify(env) !== JSON.stringify(originalEnv)) body.env = env;

  const limits: NonNullable<ScriptUpdate['limits']> = {};
  const limitRules: Array<
    [keyof typeof limits & string, 'memory_mb' | 'cpus' | 'pids', NumberRule]
  > = [
    ['memory_mb', 'memory_mb', { integer: true }],
    ['cpus', 'cpus', { integer: false }],
    ['pids', 'pids', { integer: true }],
  ];
  for (const [key, field, rule] of limitRules) {
    if (values[field].trim() === original[field]) continue;
    const parsed = parseNumber(values[field], rule);
    if ('error' in parsed) errors[`limits.${key}`] = parsed.error;
    else limits[key] = parsed.value;
  }
  if (Object.keys(limits).length) body.limits = limits;

  const numbers: Array<
    ['timeout_seconds' | 'log_limit_bytes' | 'keep_last' | 'keep_days', NumberRule]
  > = [
    ['timeout_seconds', { integer: true }],
    ['log_limit_bytes', { integer: true }],
    ['keep_last', { integer: true }],
    ['keep_days', { integer: true }],
  ];
  for (const [field, rule] of numbers) {
    if (values[field].trim() === original[field]) continue;
    const parsed = parseNumber(values[field], rule);
    if ('error' in parsed) errors[field] = parsed.error;
    else body[field] = parsed.value;
  }
  if (values.network_mode !== script.network_mode) body.network_mode = values.network_mode;
  if (values.root !== original.root) body.read_only_root = ROOT_SETTING[values.root];
  return { body, errors };
}

export const isUnchanged = (values: SettingsValues, script: Script) => {
  const { body, errors } = toPatch(values, script);
  return Object.keys(body).length === 0 && Object.keys(errors).length === 0;
};
