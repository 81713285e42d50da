import type { Revision } from '@/lib/api-types';

/** A revision's files as text by path; binary files as a one-line note. */
export function revisionFiles(revision: Revision): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of revision.files) {
    files[file.path] =
      file.encoding === 'utf-8'
        ? file.content
        : `(binary file, ${file.size} bytes, sha of content not shown)\n`;
  }
  return files;
}

const rootText = (readOnly: boolean | null | undefined) =>
  readOnly === null || readOnly === undefined ? 'default' : readOnly ? 'read-only' : 'writable';

const orNone = (value: number | null, unit = '') => (value === null ? 'none' : `${value}${unit}`);

/** A revision's run settings as lines, so they diff like a file. */
export function settingsText(revision: Revision): string {
  const settings = revision.settings;
  const env = settings.env.map((variable) =>
    variable.secret ? `${variable.name}=(secret)` : `${variable.name}=${variable.value ?? ''}`,
  );
  return (
    [
      `image: ${settings.image_id}`,
      `entry file: ${settings.entry_file}`,
      `arguments: ${settings.args.length ? JSON.stringify(settings.args) : 'none'}`,
      ...(env.length ? env.map((line) => `env: ${line}`) : ['env: none']),
      `memory limit: ${orNone(settings.limits.memory_mb, ' MB')}`,
      `cpu limit: ${orNone(settings.limits.cpus)}`,
      `process limit: ${orNone(settings.limits.pids)}`,
      `timeout: ${orNone(settings.timeout_seconds, ' s')}`,
      `network: ${settings.network_mode}`,
      `log limit: ${settings.log_limit_bytes === null ? 'default' : `${settings.log_limit_bytes} bytes`}`,
      `root file system: ${rootText(settings.read_only_root)}`,
    ].join('\n') + '\n'
  );
}

/** The name of the settings pseudo-file in a diff. */
export const SETTINGS_PATH = '(settings)';
