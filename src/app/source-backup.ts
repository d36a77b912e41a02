/**
 * Backups of hoard.yaml's sources: which sources a `hoard backup NAME…` means (a source, a job, or
 * an environment; none: every source), with what kind, environment and retention, and the backup
 * of one source into a snapshot whose metadata says all of that.
 */
import * as path from 'node:path';
import {
  type BackupOptions,
  type BackupSummary,
  type Repository,
  HoardError,
  backupFiles,
  listSnapshots,
} from '../core/index.js';
import { type SourceConfig, entryOf, retentionRuleDays } from '../config/index.js';
import { type DatabaseFacts, parseDatabaseUrl } from '../databases/index.js';
import { type SnapshotLabels, backupDatabase, labelMetadata, labelTags } from './database-backup.js';
import { type Project, environmentFor, policyOf, projectSecret } from './project.js';

export interface BackupTarget {
  source: string;
  config: SourceConfig;
  /** The job that named it, if any. */
  job?: string;
  kind: string;
  environment?: string;
  retentionDays: number | null;
  retentionFrom: RetentionOrigin;
}

export interface BackupSelection {
  /** Source, job or environment names; empty: every source. */
  names: string[];
  kind?: string;
  /** --retention DAYS */
  retentionDays?: number;
}

/** Kinds that get no default expiry: manual ones are never removed by policy; pre-migration ones get theirs once verified. */
const NO_DEFAULT_EXPIRY = new Set(['manual', 'pre-migration']);

/** Built-in retention of kinds (hoard.yaml's `retention:` overrides): daily 7 days, weekly 4 weeks, monthly 12 months. */
export const KIND_DEFAULT_DAYS: Record<string, number> = { daily: 7, weekly: 28, monthly: 360 };

export type RetentionOrigin = 'flag' | 'job' | 'kind' | 'environment' | 'none';

/**
 * Days to keep a snapshot, and which rule said so: --retention, else the job's `retention_days`,
 * else hoard.yaml's `retention.<kind>`, else hoard.yaml's `environments.<env>.retention_days`, else
 * the built-in kind default (daily 7 d, weekly 4 w, monthly 12 × 30 d), else the built-in
 * environment default (dev 30, staging 60, production 90). Manual and pre-migration snapshots get
 * none but an explicit one. A month counts 30 days. Null days: kept until removed by hand.
 */
export function retentionFor(
  p: Project,
  kind: string,
  environment: string | undefined,
  job?: number,
  flag?: number,
): { days: number | null; from: RetentionOrigin } {
  if (flag !== undefined) return { days: flag, from: 'flag' };
  if (job !== undefined) return { days: job, from: 'job' };
  if (NO_DEFAULT_EXPIRY.has(kind)) return { days: null, from: 'none' };
  const rule = retentionRuleDays(p.config.retention?.[kind]);
  if (rule !== undefined) return { days: rule, from: 'kind' };
  const envDays = environment ? p.config.environments?.[environment]?.retention_days : undefined;
  if (envDays !== undefined) return { days: envDays, from: 'environment' };
  if (KIND_DEFAULT_DAYS[kind]) return { days: KIND_DEFAULT_DAYS[kind], from: 'kind' };
  const d = environment ? policyOf(p, environment).retention_days : null;
  return d === null ? { days: null, from: 'none' } : { days: d, from: 'environment' };
}

/** The sources a selection means, each once; kind "usage" for a name that is none of source, job, environment. */
export function planBackups(p: Project, sel: BackupSelection): BackupTarget[] {
  const sources = p.config.sources ?? {};
  const jobs = p.config.jobs ?? {};
  if (!Object.keys(sources).length) {
    throw new HoardError(
      'usage',
      p.loaded ? `${p.loaded.file} defines no sources` : 'there is no hoard.yaml here (nor in a parent folder)',
      {
        hint: p.loaded
          ? 'add a source under sources: (see docs/configuration.md)'
          : 'run `hoard init`, or back up paths: hoard backup --repo URL PATH…',
      },
    );
  }
  const out = new Map<string, BackupTarget>();
  const add = (name: string, job?: string) => {
    if (out.has(name)) return;
    const cfg = sources[name];
    const j = job ? entryOf(jobs, job) : undefined;
    const environment = environmentFor(p, j?.environment ?? cfg.environment);
    const kind = sel.kind ?? j?.kind ?? 'manual';
    const r = retentionFor(p, kind, environment, j?.retention_days, sel.retentionDays);
    out.set(name, { source: name, config: cfg, job, kind, environment, retentionDays: r.days, retentionFrom: r.from });
  };
  if (!sel.names.length) for (const n of Object.keys(sources)) add(n);
  for (const n of sel.names) {
    if (entryOf(sources, n)) add(n);
    else if (entryOf(jobs, n)) for (const s of jobs[n].sources) add(s, n);
    else {
      const inEnv = Object.keys(sources).filter((s) => (sources[s].environment ?? p.config.environment) === n);
      if (!inEnv.length) {
        throw new HoardError('usage', `${n} is not a source, job or environment in ${p.loaded?.file ?? 'hoard.yaml'}`, {
          hint: `sources: ${Object.keys(sources).join(', ')}${Object.keys(jobs).length ? `; jobs: ${Object.keys(jobs).join(', ')}` : ''}`,
        });
      }
      inEnv.forEach((s) => add(s));
    }
  }
  return [...out.values()];
}

export interface SourceBackupResult extends BackupSummary {
  source: string;
  /** Tables, rows and migrations of database sources. */
  facts?: DatabaseFacts[];
}

/** Free-text labels given for the run (shared by every source it backs up), and the run's id. */
export type RunLabels = Pick<SnapshotLabels, 'label' | 'reason' | 'description' | 'ticket' | 'run'>;

/** A new run id: the snapshots of one `hoard backup` share it (for the completeness check). */
export function newRunId(nowMs: number): string {
  return `${nowMs.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Backs up one source into one snapshot. */
export async function backupSource(
  p: Project,
  repo: Repository,
  t: BackupTarget,
  run: RunLabels,
  o: BackupOptions & { localRepoPath?: string },
): Promise<SourceBackupResult> {
  const expiresAt =
    t.retentionDays === null ? null : new Date(o.clock.now() + t.retentionDays * 86_400_000).toISOString();
  const labels: SnapshotLabels = {
    ...run,
    job: t.job,
    kind: t.kind,
    environment: t.environment,
    source: t.source,
    retentionDays: t.retentionDays,
    retentionFrom: t.retentionFrom,
    expiresAt,
  };
  const c = t.config;
  if (c.type === 'files') {
    const history = (await listSnapshots(repo, o.signal)).snapshots;
    const info = {
      ...o.info,
      tags: [...(o.info.tags ?? []), ...labelTags(labels)],
      hoard: labelMetadata(labels, 'files'),
    };
    const r = await backupFiles(repo, c.paths, {
      ...o,
      info,
      history,
      cwd: p.dir,
      excludes: c.exclude ?? [],
      finalize: (x) => ({ duration_ms: x.durationMs }),
    });
    return { ...r, source: t.source };
  }
  const connection =
    c.type === 'sqlite'
      ? { engine: 'sqlite' as const, path: path.resolve(p.dir, c.path) }
      : parseDatabaseUrl(await projectSecret(p, c.url, ['sources', t.source, 'url']));
  if (connection.engine !== (c.type === 'sqlite' ? 'sqlite' : c.type)) {
    throw new HoardError(
      'config',
      `${p.loaded?.where(['sources', t.source, 'url']) ?? 'hoard.yaml'}: source ${t.source} is type ${c.type} but its URL is ${connection.engine}`,
      { hint: `give a ${c.type}:// URL or change type:` },
    );
  }
  const r = await backupDatabase(
    repo,
    {
      ...labels,
      connection,
      format: c.type === 'postgres' ? c.format : undefined,
      jobs: c.type === 'postgres' ? c.jobs : undefined,
      all: c.type === 'postgres' ? c.all === true : false,
      checksums: p.config.verify?.checksums === true,
      localRepoPath: o.localRepoPath,
    },
    o,
  );
  return { ...r, source: t.source };
}
