/**
 * The HTTP contract of `hoard serve`: paths, scopes, response shapes and error codes. It imports
 * nothing of hoard's, so a client can be built from it alone. Errors are always JSON:
 * `{status: "error", code, message, hint?}` with the HTTP status below.
 */

export type Scope = 'read' | 'backup' | 'restore' | 'admin';

/** Each route, its method and path (Fastify syntax), and the scope it needs (null: no token). */
export const ROUTES = {
  healthz: { method: 'GET', path: '/healthz', scope: null },
  listBackups: { method: 'GET', path: '/backups', scope: 'read' },
  getBackup: { method: 'GET', path: '/backups/:id', scope: 'read' },
  status: { method: 'GET', path: '/status', scope: 'read' },
  metrics: { method: 'GET', path: '/metrics', scope: 'read' },
  createBackup: { method: 'POST', path: '/backups', scope: 'backup' },
  deleteBackup: { method: 'DELETE', path: '/backups/:id', scope: 'admin' },
  download: { method: 'GET', path: '/backups/:id/download', scope: 'read' },
  restore: { method: 'POST', path: '/backups/restore', scope: 'restore' },
  cleanup: { method: 'POST', path: '/backups/cleanup', scope: 'admin' },
  verify: { method: 'POST', path: '/backups/:id/verify', scope: 'backup' },
  getTask: { method: 'GET', path: '/tasks/:id', scope: 'read' },
  taskEvents: { method: 'GET', path: '/tasks/:id/events', scope: 'read' },
} as const;

/** Body of POST /backups: a source or a job (neither: every source), and the labels. */
export interface CreateBackupRequest { source?: string; job?: string; label?: string; reason?: string; description?: string; kind?: string }
export interface TaskAccepted { status: 'accepted'; message: string; task_id: string; timestamp: string }
export interface TaskResponse { status: 'success'; task: { id: string; kind: string; status: 'running' | 'succeeded' | 'failed'; started: string; ended: string | null; result: unknown; error: { kind: string; message: string; hint: string | null } | null } }

export type RouteName = keyof typeof ROUTES;

export interface ApiError {
  status: 'error';
  /** unauthorized (401), forbidden (403), bad_request (400), not_found (404), too_many_requests (429), conflict (409), internal (500). */
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

export interface ListBackupsResponse { status: 'success'; count: number; backups: ApiBackup[] }
export interface GetBackupResponse { status: 'success'; backup: ApiBackup }
export interface HealthResponse { status: 'ok'; version: string }

/** Query parameters of GET /backups (the CLI's list filters). */
export interface ListQuery { kind?: string; days?: number; env?: string; source?: string; label?: string }

/** A snapshot id, a unique prefix or a label: letters, digits, `.`, `_`, `-` only (never a path). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
