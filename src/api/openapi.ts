/**
 * The OpenAPI 3.1 document of `hoard serve`, served at GET /openapi.json. Built from the route table
 * and the request fields of contract.ts, so a route cannot be added without appearing here; the
 * tests validate the document and check every response they receive against it.
 */
import { BODY_FIELDS, ID_PATTERN, LIST_QUERY, NAME_PATTERN, ROUTES, type RouteName } from './contract.js';

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A closed object: every listed property required unless named in `optional`. */
const obj = (props: Record<string, Schema>, optional: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties: props,
  required: Object.keys(props).filter((k) => !optional.includes(k)),
});
const name: Schema = { type: 'string', pattern: NAME_PATTERN.source };

const oneVerification = obj({ level: str, ok: bool, at: time, message: str }, ['message']);
const verification = nullable(oneVerification);
/** The newest verification of each level the backup (or source) has had. */
const verificationLevels: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { quick: oneVerification, 'read-back': oneVerification, drill: oneVerification },
};

const schemas: Record<string, Schema> = {
  Error: obj(
    {
      status: { const: 'error' },
      code: { type: 'string', pattern: '^[a-z_]+$', description: 'see docs/api.md' },
      message: str,
      hint: str,
    },
    ['hint'],
  ),
  Backup: obj({
    id: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    short_id: { type: 'string', pattern: '^[0-9a-f]{8}$' },
    time: str,
    created_ms: { type: 'number' },
    kind: str,
    label: nullable(str),
    reason: nullable(str),
    description: nullable(str),
    environment: nullable(str),
    source: nullable(str),
    source_type: nullable(str),
    engine: nullable(str),
    database: nullable(str),
    size: nullable(int),
    data_added: nullable(int),
    duration_ms: nullable({ type: 'number' }),
    hostname: str,
    paths: { type: 'array', items: str },
    tags: { type: 'array', items: str },
    retention_days: nullable({ type: 'number' }),
    expires_at: nullable(str),
    pinned: bool,
    ticket: nullable(str),
    confirmation: nullable(obj({ by: str, at: str, note: nullable(str) })),
    awaiting_confirmation: bool,
    verification,
    verification_levels: verificationLevels,
  }),
  Health: obj({ status: { const: 'ok' }, version: str }),
  BackupList: obj({ status: { const: 'success' }, count: int, backups: { type: 'array', items: ref('Backup') } }),
  BackupOne: obj({ status: { const: 'success' }, backup: ref('Backup') }),
  SourceStatus: obj({
    source: str,
    type: str,
    environment: nullable(str),
    jobs: { type: 'array', items: str },
    schedule: nullable(str),
    snapshots: int,
    last_backup: nullable(
      obj({
        id: str,
        time: str,
        age_hours: { type: 'number' },
        kind: str,
        size: nullable(int),
        duration_ms: nullable({ type: 'number' }),
        data_added: nullable(int),
      }),
    ),
    next_run: nullable(str),
    last_verification: verification,
    verification_levels: verificationLevels,
    failed_verifications: {
      type: 'array',
      items: obj({ level: str, ok: bool, at: time, message: str, snapshot_id: str }, ['message']),
    },
    recovery: obj({
      objective_ms: nullable({ type: 'number' }),
      last_drill: nullable(
        obj({
          at: time,
          ok: bool,
          restore_ms: nullable({ type: 'number' }),
          restore_bytes: nullable({ type: 'number' }),
        }),
      ),
      met: nullable(bool),
    }),
    pitr: nullable(
      obj({
        files: int,
        bytes: int,
        timelines: {
          type: 'array',
          items: obj({ timeline: int, first: str, last: str, segments: int }),
        },
        base_backups: {
          type: 'array',
          items: obj({ snapshot_id: str, timeline: int, start_segment: str, consistent_at: time }),
        },
        gaps: { type: 'array', items: obj({ timeline: int, missing: str }) },
        conflicts: { type: 'array', items: str },
        newest_archived_at: nullable(time),
        lag_ms: nullable({ type: 'number' }),
        rpo_ms: nullable({ type: 'number' }),
        rpo_met: nullable(bool),
        restorable: nullable(obj({ from: time, to: time })),
      }),
    ),
    warnings: { type: 'array', items: str },
  }),
  Status: obj({
    status: { const: 'success' },
    config: nullable(str),
    environment: nullable(str),
    repository: obj({ url: str, size_bytes: int, snapshots: int, damaged_snapshots: int }),
    locks: obj({ total: int, stale: int, exclusive: int }),
    sources: { type: 'array', items: ref('SourceStatus') },
    other_snapshots: int,
    warnings: { type: 'array', items: str },
    copies: {
      type: 'array',
      items: obj({
        destination: str,
        jobs: { type: 'array', items: str },
        missing: nullable(int),
        lag_hours: nullable({ type: 'number' }),
        error: nullable(str),
      }),
    },
  }),
  TaskAccepted: obj({
    status: { const: 'accepted' },
    message: str,
    task_id: { type: 'string', pattern: '^[0-9a-f]{16}$' },
    timestamp: time,
  }),
  Task: obj({
    status: { const: 'success' },
    task: obj({
      id: str,
      kind: { enum: ['backup', 'restore', 'cleanup', 'verify'] },
      status: { enum: ['running', 'succeeded', 'failed'] },
      started: time,
      ended: nullable(time),
      result: { description: 'the outcome when succeeded (see docs/api.md), else null' },
      error: nullable(obj({ kind: str, message: str, hint: nullable(str) })),
    }),
  }),
  RestorePlan: obj(
    {
      status: { const: 'success' },
      backup: ref('Backup'),
      target: str,
      target_name: nullable(str),
      dry_run: { const: true },
      protected_environment: nullable(str),
      pre_restore_snapshot_id: { type: 'null' },
      files: { ...int, description: 'a files restore: the files it would restore' },
      database: {
        type: 'object',
        description: 'a database restore: the plan (target, file, whether the target holds data)',
      },
      timestamp: time,
    },
    ['database', 'files'],
  ),
  Deleted: obj({
    status: { const: 'success' },
    message: str,
    deleted_count: int,
    deleted_files: { type: 'array', items: str },
    timestamp: time,
  }),
  CleanupPlan: obj({
    status: { const: 'success' },
    dry_run: bool,
    deleted_count: int,
    deleted_files: { type: 'array', items: str },
    total_size_freed: int,
    retention_days: nullable(int),
    retention: { type: 'object' },
    decisions: { type: 'array', items: obj({ id: str, remove: bool, reasons: { type: 'array', items: str } }) },
    timestamp: time,
  }),
};

/** Free text (a reason, a description): no control characters, at most 500 of them. */
const text: Schema = { type: 'string', pattern: '^[^\\u0000-\\u001f]{0,500}$' };

/**
 * Request body schemas, from the accepted fields of contract.ts: the document shows them and the
 * server validates every body with them (server/http.ts `body`).
 */
export const REQUEST_BODIES: Record<keyof typeof BODY_FIELDS, Schema> = {
  createBackup: obj(
    {
      source: name,
      job: name,
      label: name,
      reason: text,
      description: text,
      kind: name,
    },
    [...BODY_FIELDS.createBackup],
  ),
  restore: obj(
    {
      id: name,
      latest: bool,
      source: name,
      name,
      at: {
        type: 'string',
        pattern: '^[0-9T:.+\\- Z]{10,40}$',
        description: 'a date and time (RFC 3339, or 2026-11-20 14:30)',
      },
      target: {
        type: 'string',
        maxLength: 4096,
        description: 'a restore target or a source named in hoard.yaml (paths and URLs are refused with 403)',
      },
      target_db: name,
      database: { ...name, description: 'from a server-wide (--all) backup: which database' },
      include: {
        type: 'array',
        maxItems: 100,
        items: { type: 'string', pattern: '^[^\\u0000-\\u001f]{1,4096}$' },
        description: "files backups: only these snapshot paths and what is below them (the CLI's --include)",
      },
      dry_run: bool,
      confirm: bool,
    },
    [...BODY_FIELDS.restore],
  ),
  cleanup: obj(
    {
      dry_run: bool,
      older_than_days: { type: 'integer', minimum: 1 },
      source: name,
      environment: name,
      keep_last: { type: 'integer', minimum: 1 },
      keep_daily: { type: 'integer', minimum: 1 },
      keep_weekly: { type: 'integer', minimum: 1 },
      keep_monthly: { type: 'integer', minimum: 1 },
      allow_empty: bool,
      confirm: bool,
    },
    [...BODY_FIELDS.cleanup],
  ),
  verify: obj(
    { level: { enum: ['quick', 'read-back', 'drill'] }, subset: { type: 'number', exclusiveMinimum: 0, maximum: 1 } },
    [...BODY_FIELDS.verify],
  ),
};

const requestSchema = (route: string) => `${route[0].toUpperCase()}${route.slice(1)}Request`;
const json = (s: Schema) => ({ content: { 'application/json': { schema: s } } });
const error = (description: string) => ({ description, ...json(ref('Error')) });

/** The 2xx responses of each route. */
const success: Record<RouteName, Record<string, unknown>> = {
  healthz: { 200: { description: 'the server runs', ...json(ref('Health')) } },
  openapi: { 200: { description: 'this document', ...json({ type: 'object' }) } },
  listBackups: { 200: { description: 'the backups that match, newest last', ...json(ref('BackupList')) } },
  getBackup: { 200: { description: 'one backup', ...json(ref('BackupOne')) } },
  status: { 200: { description: "the CLI's status --json", ...json(ref('Status')) } },
  metrics: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: str } } } },
  createBackup: { 202: { description: 'the backup runs as a task', ...json(ref('TaskAccepted')) } },
  deleteBackup: { 200: { description: 'the backup was removed', ...json(ref('Deleted')) } },
  download: {
    200: {
      description: "the backup's file, streamed (content-disposition names it)",
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    },
  },
  restore: {
    200: { description: 'with dry_run: the plan', ...json(ref('RestorePlan')) },
    202: { description: 'the restore runs as a task', ...json(ref('TaskAccepted')) },
  },
  cleanup: {
    200: { description: 'with dry_run: the plan', ...json(ref('CleanupPlan')) },
    202: { description: 'the cleanup runs as a task', ...json(ref('TaskAccepted')) },
  },
  verify: { 202: { description: 'the verification runs as a task', ...json(ref('TaskAccepted')) } },
  getTask: { 200: { description: 'the task', ...json(ref('Task')) } },
  taskEvents: {
    200: {
      description: 'server-sent events: started, progress, then succeeded or failed',
      content: { 'text/event-stream': { schema: str } },
    },
  },
};

const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'a snapshot id, a unique prefix, `latest` or a label',
  schema: { type: 'string', pattern: ID_PATTERN.source },
};
const taskParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{16}$' } };

const parameters: Partial<Record<RouteName, unknown[]>> = {
  listBackups: LIST_QUERY.map((q) => ({
    name: q,
    in: 'query',
    required: false,
    schema: q === 'days' ? { type: 'integer', minimum: 0 } : name,
  })),
  getBackup: [idParam],
  deleteBackup: [
    idParam,
    {
      name: 'confirm',
      in: 'query',
      required: false,
      description: 'true to delete from a protected environment',
      schema: { enum: ['true', 'false'] },
    },
  ],
  download: [
    idParam,
    { name: 'format', in: 'query', required: false, schema: { enum: ['raw', 'gz', 'zstd'], default: 'raw' } },
  ],
  verify: [idParam],
  getTask: [taskParam],
  taskEvents: [taskParam],
};

/** The document for a server of this version. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, r] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    const p = r.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {
      ...success[key],
      400: error('malformed input'),
      404: error('no such backup, task or route'),
      500: error('internal error'),
    };
    if (r.scope !== null)
      Object.assign(responses, {
        401: error('no token, or an unknown one'),
        403: error(
          `the token lacks the ${r.scope} scope${key === 'restore' ? ', or the target is not one hoard.yaml names' : ''}`,
        ),
        429: error('too many failed authentications, or too many tasks and downloads running'),
        409: error('the repository is locked, or a protected environment needs confirm'),
        503: error('the repository is missing or its password wrong'),
      });
    if (r.method !== 'GET')
      Object.assign(responses, {
        413: error('the body is larger than 1 MiB'),
        415: error('the body is not application/json'),
      });
    const body = key in REQUEST_BODIES ? { requestBody: { required: false, ...json(ref(requestSchema(key))) } } : {};
    (paths[p] ??= {})[r.method.toLowerCase()] = {
      operationId: key,
      summary: r.summary,
      ...(r.scope === null ? { security: [] } : { 'x-scope': r.scope }),
      ...(parameters[key] ? { parameters: parameters[key] } : {}),
      ...body,
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hoard',
      version,
      description:
        'The REST API of `hoard serve`. Every route but /healthz needs a bearer token with the scope ' +
        'named in x-scope (admin implies all). Only the methods listed here are served: HEAD, OPTIONS ' +
        'and any other pair are refused (401 without a valid token, else 404).',
    },
    servers: [{ url: 'http://127.0.0.1:7420' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: {
        ...schemas,
        ...Object.fromEntries(Object.entries(REQUEST_BODIES).map(([k, v]) => [requestSchema(k), v])),
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
