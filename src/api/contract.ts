/**
 * The HTTP contract of `hoard serve`: paths, scopes, response shapes and error codes. It imports
 * nothing of hoard's, so a client can be built from it alone. Errors are always JSON:
 * `{status: "error", code, message, hint?}` with the HTTP status below.
 */

/**
 * What a token may do: `read` lists and shows backups, status and metrics; `download` streams a
 * backup's data; `backup` starts backups and verifications; `restore` restores into the targets
 * hoard.yaml names; `admin` implies every scope (and deletes and cleans up).
 */
export type Scope = 'read' | 'download' | 'backup' | 'restore' | 'admin';

/** Every scope, in the order the docs list them. */
export const SCOPES: readonly Scope[] = ['read', 'download', 'backup', 'restore', 'admin'];

/**
 * Each route: its method, path (Fastify syntax), the scope it needs (null: no token) and what it
 * does. The server serves exactly these (method, path) pairs and refuses every other request,
 * HEAD and OPTIONS included; the scope travels with the route itself.
 */
export const ROUTES = {
  healthz: { method: 'GET', path: '/healthz', scope: null, summary: 'liveness and version' },
  openapi: { method: 'GET', path: '/openapi.json', scope: 'read', summary: 'this API as an OpenAPI 3.1 document' },
  listBackups: { method: 'GET', path: '/backups', scope: 'read', summary: "the backups, with the CLI's list filters" },
  getBackup: {
    method: 'GET',
    path: '/backups/:id',
    scope: 'read',
    summary: 'one backup by id, unique prefix, latest or label',
  },
  status: { method: 'GET', path: '/status', scope: 'read', summary: "the project's status (the CLI's status --json)" },
  metrics: { method: 'GET', path: '/metrics', scope: 'read', summary: 'Prometheus metrics' },
  createBackup: {
    method: 'POST',
    path: '/backups',
    scope: 'backup',
    summary: 'start a backup of a source, a job or every source',
  },
  deleteBackup: { method: 'DELETE', path: '/backups/:id', scope: 'admin', summary: 'delete one backup' },
  download: {
    method: 'GET',
    path: '/backups/:id/download',
    scope: 'download',
    summary: "stream a backup's file (raw, gz or zstd)",
  },
  restore: {
    method: 'POST',
    path: '/backups/restore',
    scope: 'restore',
    summary: 'start a restore into a target hoard.yaml names (with a safety snapshot of what it overwrites)',
  },
  cleanup: {
    method: 'POST',
    path: '/backups/cleanup',
    scope: 'admin',
    summary: 'apply retention, or preview it with dry_run',
  },
  verify: {
    method: 'POST',
    path: '/backups/:id/verify',
    scope: 'backup',
    summary: 'start a verification: quick, read-back or drill',
  },
  getTask: { method: 'GET', path: '/tasks/:id', scope: 'read', summary: 'a task and its result' },
  taskEvents: {
    method: 'GET',
    path: '/tasks/:id/events',
    scope: 'read',
    summary: "a task's progress as server-sent events",
  },
} as const;

/** The fields each request body accepts (any other field is a 400). */
export const BODY_FIELDS = {
  createBackup: ['source', 'job', 'label', 'reason', 'description', 'kind'],
  restore: ['id', 'latest', 'source', 'name', 'at', 'target', 'target_db', 'database', 'include', 'dry_run', 'confirm'],
  cleanup: [
    'dry_run',
    'older_than_days',
    'source',
    'environment',
    'keep_last',
    'keep_daily',
    'keep_weekly',
    'keep_monthly',
    'allow_empty',
    'confirm',
  ],
  verify: ['level', 'subset'],
} as const;

/** The query parameters of GET /backups. */
export const LIST_QUERY = ['kind', 'days', 'env', 'source', 'label'] as const;

/** Body of POST /backups: a source or a job (neither: every source), and the labels. */
export interface CreateBackupRequest {
  source?: string;
  job?: string;
  label?: string;
  reason?: string;
  description?: string;
  kind?: string;
}
/** Body of POST /backups/restore: the backup (id, or latest/source/name/at), the target hoard.yaml names, the options. */
export interface RestoreBody {
  id?: string;
  latest?: boolean;
  source?: string;
  name?: string;
  at?: string;
  target?: string;
  target_db?: string;
  database?: string;
  include?: string[];
  dry_run?: boolean;
  confirm?: boolean;
}
/** Body of POST /backups/cleanup: retention overrides (days, GFS counts), the scope, and the dry run. */
export interface CleanupBody {
  dry_run?: boolean;
  older_than_days?: number;
  source?: string;
  environment?: string;
  keep_last?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  allow_empty?: boolean;
  confirm?: boolean;
}
/** Body of POST /backups/:id/verify. */
export interface VerifyBody {
  level?: 'quick' | 'read-back' | 'drill';
  subset?: number;
}
/** The body type of each route that takes one. */
export interface RequestBodies {
  createBackup: CreateBackupRequest;
  restore: RestoreBody;
  cleanup: CleanupBody;
  verify: VerifyBody;
}
export interface TaskAccepted {
  status: 'accepted';
  message: string;
  task_id: string;
  timestamp: string;
}
export interface TaskResponse {
  status: 'success';
  task: {
    id: string;
    kind: string;
    status: 'running' | 'succeeded' | 'failed';
    started: string;
    ended: string | null;
    result: unknown;
    error: { kind: string; message: string; hint: string | null } | null;
  };
}

export type RouteName = keyof typeof ROUTES;

export interface ApiError {
  status: 'error';
  /**
   * unauthorized (401), forbidden and target_not_allowed (403), bad_request (400), not_found (404),
   * too_many_requests and too_many_tasks (429), locked and confirmation_required (409), repo_missing
   * and wrong_password (503), internal (500); other failures of the operation carry hoard's error
   * kind (e.g. corrupt, io, db_connection) with 500.
   */
  code: string;
  message: string;
  hint?: string;
}

/** A backup as the API shows it (the CLI's `list --json` record). */
export interface ApiBackup {
  id: string;
  short_id: string;
  time: string;
  kind: string;
  label: string | null;
  reason: string | null;
  environment: string | null;
  source: string | null;
  size: number | null;
  retention_days: number | null;
  expires_at: string | null;
  pinned: boolean;
  verification: { level: string; ok: boolean; at: string; message?: string } | null;
  [key: string]: unknown;
}

export interface ListBackupsResponse {
  status: 'success';
  count: number;
  backups: ApiBackup[];
}
export interface GetBackupResponse {
  status: 'success';
  backup: ApiBackup;
}
export interface HealthResponse {
  status: 'ok';
  version: string;
}

/** Query parameters of GET /backups (the CLI's list filters). */
export interface ListQuery {
  kind?: string;
  days?: number;
  env?: string;
  source?: string;
  label?: string;
}

/** A snapshot id, a unique prefix or a label: letters, digits, `.`, `_`, `-` only (never a path). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A source, job, label, kind or environment name in a body or query: the same characters as an id. */
export const NAME_PATTERN = ID_PATTERN;
