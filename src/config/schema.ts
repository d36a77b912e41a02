/**
 * The one schema of hoard.yaml (docs/configuration.md describes every key). Unknown keys are
 * rejected everywhere; values are checked for type and range here, references between sections
 * (a job naming a source) in check.ts. Secrets are strings: `env:NAME`, `file:PATH`, `cmd:COMMAND`
 * or, discouraged, the value itself.
 */
import { z } from 'zod';
import { parseDuration, parseSchedule } from './schedule.js';

/** The newest config version this hoard reads. */
export const CONFIG_VERSION = 1;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const name = z
  .string()
  .regex(NAME, { error: 'names use letters, digits, ".", "_" and "-" (at most 64), starting with a letter or digit' });
const secret = z.string().min(1, { error: 'must not be empty: give env:NAME, file:PATH or cmd:COMMAND' });
const days = z.int({ error: 'must be a whole number of days' }).min(1).max(36500);
const kindName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, {
  error: 'kinds are lower-case words such as daily, weekly, manual, pre-migration',
});
const schedule = z.string().refine((s) => parseSchedule(s).ok, {
  error: (i) => `${(parseSchedule(String(i.input)) as { error?: string }).error ?? 'not a schedule'}`,
});
const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, { error: 'not a duration: write e.g. 30s, 5m, 2h or 1d' });
const percent = z.string().regex(/^(100|[1-9]?\d(\.\d+)?)%$/, { error: 'write a percentage such as 5%' });
const events = z.array(
  z.string().regex(/^(backup|restore|verify|cleanup|copy|rto|archive)\.(started|succeeded|failed|created|\*)$|^\*$/, {
    error: 'events look like backup.failed, verify.succeeded, copy.failed, rto.failed, archive.failed or backup.*',
  }),
);
const strings = z.union([z.string(), z.array(z.string()).min(1)]);

const kibs = z.int({ error: 'a rate in KiB/s, a whole number' }).min(1);
const repository = z.strictObject({
  url: z.string().min(1),
  password: secret.optional(),
  /** s3: settings; credentials otherwise come from AWS_* variables or the AWS profile files. */
  s3: z
    .strictObject({
      region: z.string().optional(),
      path_style: z.boolean().optional(),
      access_key_id: secret.optional(),
      secret_access_key: secret.optional(),
      session_token: secret.optional(),
      profile: z.string().optional(),
    })
    .optional(),
  /** sftp: settings; without key or password, ~/.ssh/id_* and ssh-agent are tried. */
  sftp: z
    .strictObject({
      user: z.string().optional(),
      port: z.int().min(1).max(65535).optional(),
      key: z.string().optional(),
      key_passphrase: secret.optional(),
      password: secret.optional(),
      known_hosts: z.string().optional(),
      host_key: z
        .string()
        .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, { error: 'write the fingerprint as ssh-keygen -l prints it: SHA256:…' })
        .optional(),
    })
    .optional(),
  limit_upload: kibs.optional(),
  limit_download: kibs.optional(),
  connections: z.int().min(1).max(64).optional(),
});

const environment = z.strictObject({
  protected: z.boolean().optional(),
  retention_days: days.optional(),
  /** How long a restore of this environment's sources may take (checked against each drill). */
  recovery_time_objective: duration.optional(),
});

const sourceCommon = {
  environment: name.optional(),
  description: z.string().optional(),
  /** How long a restore of this source may take (checked against each drill; default: its environment's). */
  recovery_time_objective: duration.optional(),
};

/** Point-in-time recovery of a PostgreSQL source: WAL archived into the repository, base backups on a schedule. */
const pitr = z.strictObject({
  /** archive: the server's archive_command runs `hoard wal push` (the only method so far). */
  method: z.enum(['archive']).optional(),
  /** When to take base backups (the scheduler); restores replay WAL from the newest one before the target. */
  base_backup: schedule.optional(),
  /** The most data a restore may lose: status and metrics say whether the newest archived WAL is this recent. */
  rpo: duration.optional(),
  /** WAL files one `wal push` stores at most: the one asked for plus others PostgreSQL has marked ready (default 8). */
  batch: z.int().min(1).max(64).optional(),
});

const source = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('postgres'),
      url: secret,
      format: z.enum(['sql', 'custom', 'directory']).optional(),
      all: z.boolean().optional(),
      jobs: z.int().min(1).max(99).optional(),
      pitr: pitr.optional(),
      ...sourceCommon,
    }),
    z.strictObject({ type: z.literal('mysql'), url: secret, ...sourceCommon }),
    z.strictObject({ type: z.literal('sqlite'), path: z.string().min(1), ...sourceCommon }),
    z.strictObject({
      type: z.literal('files'),
      paths: z.array(z.string().min(1)).min(1),
      exclude: z.array(z.string()).optional(),
      ...sourceCommon,
    }),
  ],
  { error: 'type must be one of postgres, mysql, sqlite, files' },
);

/**
 * A place restores may write to besides the sources' own locations (the only places the REST API
 * may restore into): a folder (`path`: files snapshots go into it, SQLite snapshots as a file inside
 * it) or a database server or database (`url`: PostgreSQL or MySQL; with no database in the URL,
 * restores may name any database on that server with target_db).
 */
const restoreTarget = z
  .strictObject({
    path: z.string().min(1).optional(),
    url: secret.optional(),
    environment: name.optional(),
    description: z.string().optional(),
  })
  .refine((t) => (t.path === undefined) !== (t.url === undefined), {
    error: 'a restore target has either path: (a folder) or url: (a database), not both',
  });

const hooks = z.strictObject({
  before: strings.optional(),
  after: strings.optional(),
  on_failure: strings.optional(),
  timeout: duration.optional(),
});

const job = z.strictObject({
  sources: z.array(name).min(1, { error: 'a job needs at least one source' }),
  schedule: schedule.optional(),
  on_change: z.strictObject({ debounce: duration.optional(), min_interval: duration.optional() }).optional(),
  kind: kindName.optional(),
  retention_days: days.optional(),
  destinations: z.array(name).min(1).optional(),
  environment: name.optional(),
  hooks: hooks.optional(),
  /** Delay each scheduled run by up to this much (a fixed share per run), to spread jobs. */
  jitter: duration.optional(),
  /** Make up a run missed while the scheduler was down, once, on start (default true). */
  catch_up: z.boolean().optional(),
  /** IANA time zone of the schedule (default: the machine's). */
  timezone: z
    .string()
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { error: 'unknown time zone: use an IANA name such as Europe/Paris or UTC' },
    )
    .optional(),
});

const retentionRule = z.union(
  [
    z.literal('forever'),
    z.strictObject({
      days: days.optional(),
      weeks: z.int().min(1).max(520).optional(),
      months: z.int().min(1).max(1200).optional(),
    }),
  ],
  { error: 'a retention rule is "forever" or one of { days: N }, { weeks: N }, { months: N }' },
);

const verify = z.strictObject({
  after_backup: z.enum(['none', 'quick', 'read-back']).optional(),
  read_back: z.strictObject({ schedule: schedule.optional(), subset: percent.optional() }).optional(),
  drill: z
    .strictObject({
      schedule: schedule.optional(),
      sources: z.array(name).optional(),
      sql: z.array(z.string()).optional(),
    })
    .optional(),
  min_size: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i, { error: 'write a size such as 10MB' })
    .optional(),
  /** Checksum every table at backup (in the dump's snapshot on PostgreSQL) and compare after each drill. */
  checksums: z.boolean().optional(),
  /** Warn when a drilled source (verify.drill.sources, or one with a recovery time objective) has had no drill for this long. */
  drill_max_age: duration.optional(),
});

const channelCommon = { on: events.optional(), environments: z.array(name).optional() };
const notification = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('webhook'), url: secret, ...channelCommon }),
    z.strictObject({ type: z.literal('slack'), url: secret, ...channelCommon }),
    z.strictObject({
      type: z.literal('email'),
      smtp: secret,
      to: strings,
      from: z.string().optional(),
      ...channelCommon,
    }),
    z.strictObject({ type: z.literal('healthchecks'), url: secret, ...channelCommon }),
  ],
  { error: 'type must be one of webhook, slack, email, healthchecks' },
);

const server = z.strictObject({
  listen: z
    .string()
    .regex(/^[^\s]+:\d{1,5}$/, { error: 'write HOST:PORT, e.g. 127.0.0.1:7420' })
    .optional(),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  /** Failed authentications allowed per client address and minute before 429 (default 20). */
  max_failures_per_minute: z.int().min(1).max(10_000).optional(),
  /** Tasks and downloads running at once before 429 (default 4). */
  max_tasks: z.int().min(1).max(64).optional(),
  tokens: z
    .array(
      z.strictObject({
        name,
        hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, {
          error: 'store the token hashed: sha256:<64 hex digits> (see `hoard token hash`)',
        }),
        scopes: z.array(z.enum(['read', 'download', 'backup', 'restore', 'admin'])).min(1),
      }),
    )
    .optional(),
});

export const configSchema = z.strictObject({
  version: z.int().min(1).optional(),
  environment: name.optional(),
  repository: name.optional(),
  repositories: z.record(name, repository).optional(),
  environments: z.record(name, environment).optional(),
  sources: z.record(name, source).optional(),
  restore_targets: z.record(name, restoreTarget).optional(),
  jobs: z.record(name, job).optional(),
  retention: z.record(kindName, retentionRule).optional(),
  verify: verify.optional(),
  notifications: z.array(notification).optional(),
  server: server.optional(),
  /** Scheduled cleanup (the retention policy, then prune). */
  cleanup: z.strictObject({ schedule }).optional(),
});

export type HoardConfig = z.infer<typeof configSchema>;
export type SourceConfig = NonNullable<HoardConfig['sources']>[string];
export type JobConfig = NonNullable<HoardConfig['jobs']>[string];
export type RepositoryConfig = NonNullable<HoardConfig['repositories']>[string];
export type EnvironmentConfig = NonNullable<HoardConfig['environments']>[string];
export type RestoreTargetConfig = NonNullable<HoardConfig['restore_targets']>[string];
