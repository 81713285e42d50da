/** API objects as the server sends them, with what a test does not care about filled in. */
import type { Image, Job, Revision, RevisionSummary, Script } from '@/lib/api-types';

const created = '2026-01-05T10:00:00Z';

export function anImage(overrides: Partial<Image> = {}): Image {
  return {
    id: 1,
    name: 'py311',
    description: '',
    status: 'dormant',
    tag: null,
    docker_image_id: null,
    error: null,
    files_editable: true,
    created_at: created,
    updated_at: created,
    build_started_at: null,
    build_finished_at: null,
    files: [],
    ...overrides,
  };
}

export function aScript(overrides: Partial<Script> = {}): Script {
  return {
    id: 1,
    name: 'report',
    description: '',
    image_id: 1,
    entry_file: 'main.py',
    env: [],
    args: [],
    limits: { memory_mb: null, cpus: null, pids: null },
    timeout_seconds: null,
    network_mode: 'none',
    log_limit_bytes: null,
    read_only_root: null,
    keep_last: null,
    keep_days: null,
    current_revision: 1,
    created_at: created,
    updated_at: created,
    ...overrides,
  };
}

export function aJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 7,
    script_id: 1,
    revision: 1,
    image_id: 1,
    image_tag: null,
    docker_image_id: null,
    trigger: 'manual',
    schedule_id: null,
    status: 'queued',
    args: [],
    env: {},
    created_at: created,
    started_at: null,
    finished_at: null,
    duration_seconds: null,
    exit_code: null,
    oom_killed: false,
    log_truncated: false,
    cancel_requested: false,
    error: null,
    log_path: null,
    ...overrides,
  };
}

/** A revision of a script with these text files and default settings. */
export function aRevision(number: number, files: Record<string, string>): Revision {
  return {
    number,
    created_at: created,
    content_hash: `hash-${number}`,
    files: Object.entries(files).map(([path, content]) => ({
      path,
      size: new TextEncoder().encode(content).length,
      content,
      encoding: 'utf-8' as const,
    })),
    settings: {
      image_id: 1,
      entry_file: 'main.py',
      env: [],
      args: [],
      limits: { memory_mb: null, cpus: null, pids: null },
      timeout_seconds: null,
      network_mode: 'none',
      log_limit_bytes: null,
      read_only_root: null,
    },
  };
}

export function summaryOf(revision: Revision): RevisionSummary {
  return {
    number: revision.number,
    created_at: revision.created_at,
    content_hash: revision.content_hash,
    files: revision.files.map(({ path, size }) => ({ path, size })),
  };
}
