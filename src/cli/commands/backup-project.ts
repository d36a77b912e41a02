/** `hoard backup [SOURCE|JOB|ENVIRONMENT…]`: the sources of hoard.yaml, one snapshot each, with a summary per snapshot. */
import { HoardError, type Repository, isHoardError, listSnapshots } from '../../core/index.js';
import { type BackupTarget, type SourceBackupResult, backupSource, newRunId, planBackups } from '../../app/source-backup.js';
import { type Project, policyOf } from '../../app/project.js';
import { verifySnapshots } from '../../app/verify.js';
import { copyDestinations, copyToDestinations } from '../../app/copy.js';
import { repositoryLocation, withLock } from '../../app/repository-access.js';
import { type BackupRecord, toRecord } from '../../app/snapshot-view.js';
import { parseRepositoryUrl } from '../../backends/index.js';
import type { CommandContext } from '../context.js';
import { exitCodeFor } from '../exit-codes.js';
import { openRepo } from '../repo.js';
import { paint, relative, size, span } from '../render.js';
import { backupOptions, labelsFrom, retentionFlag } from './database.js';
import { compressionFlag } from './backup.js';

export async function runProjectBackup(ctx: CommandContext): Promise<number> {
  const f = ctx.args.flags;
  const p = await ctx.project();
  const targets = planBackups(p, { names: ctx.args.positionals, kind: f.kind as string | undefined, retentionDays: retentionFlag(f.retention) });
  const repo = await openRepo(ctx, { compression: compressionFlag(f.compression) });
  const loc = parseRepositoryUrl(repositoryLocation(p).url);
  const run = { ...labelsFrom(ctx), run: newRunId(ctx.env.clock.now()) };
  let failed: HoardError | undefined;
  const made: { job?: string; id: string }[] = [];
  try {
    const history = (await listSnapshots(repo, ctx.signal)).snapshots.map((e) => toRecord(e));
    for (const t of targets) {
      if (t.environment && policyOf(p, t.environment).protected) notice(ctx, t, history);
      try {
        const r = await withLock(ctx.env, repo, false, () => backupSource(p, repo, t, run, { ...backupOptions(ctx), localRepoPath: loc.scheme === 'local' ? loc.path : undefined }));
        summary(ctx, t, r);
        if (r.snapshotId) made.push({ job: t.job, id: r.snapshotId });
        if (r.stats.errors.length) failed ??= new HoardError('partial', `${r.stats.errors.length} file(s) of ${t.source} could not be read`);
        const after = p.config.verify?.after_backup;
        if (r.snapshotId && after && after !== 'none') failed ??= await verifyAfter(ctx, p, repo, r.snapshotId, after);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        const he = isHoardError(e) ? e : new HoardError('internal', (e as Error).message);
        failed ??= he;
        if (targets.length === 1) throw he;
        if (ctx.json) ctx.out(JSON.stringify({ message_type: 'error', source: t.source, status: 'failed', kind: he.kind, message: he.message, hint: he.hint ?? null }));
        else process.stderr.write(`hoard: ${t.source}: backup FAILED: ${he.message}\n${he.hint ? `  ${he.hint}\n` : ''}`);
      }
    }
  } finally {
    await repo.close();
  }
  await copyJobs(ctx, p, made);
  return failed ? exitCodeFor(failed.kind) : 0;
}

/** After the backups: each job's new snapshots go to its other destinations. A failed copy warns; the backup stands. */
async function copyJobs(ctx: CommandContext, p: Project, made: { job?: string; id: string }[]): Promise<void> {
  for (const job of new Set(made.map((m) => m.job).filter((j): j is string => !!j))) {
    const dests = copyDestinations(p, job);
    if (!dests.length) continue;
    const r = await copyToDestinations(ctx.env, p, dests, made.filter((m) => m.job === job).map((m) => m.id), { signal: ctx.signal });
    for (const c of r.ok) {
      if (ctx.json) ctx.out(JSON.stringify({ message_type: 'copy', job, destination: c.destination, status: 'success', copied: c.copied.map((x) => x.destination), skipped: c.skipped.length, bytes_added: c.bytes }));
      else ctx.out(`copied ${c.copied.length} snapshot(s) of job ${job} to ${c.destination} (${size(c.bytes)} new)`);
    }
    for (const f of r.failed) {
      if (ctx.json) ctx.out(JSON.stringify({ message_type: 'copy', job, destination: f.destination, status: 'failed', kind: f.error.kind, message: f.error.message }));
      else process.stderr.write(`hoard: WARNING: the copy of job ${job} to ${f.destination} failed (the backup itself is kept): ${f.error.message}\n${f.error.hint ? `  ${f.error.hint}\n` : ''}`);
    }
  }
}

/** hoard.yaml's `verify.after_backup`: a quick or read-back verification of the new snapshot, recorded; its failure is exit 5. */
async function verifyAfter(ctx: CommandContext, p: Project, repo: Repository, id: string, level: 'quick' | 'read-back'): Promise<HoardError | undefined> {
  const [v] = await withLock(ctx.env, repo, false, () => verifySnapshots(p, repo, { ref: id, level }, { ...backupOptions(ctx, { dryRun: false }), isProcessAlive: () => true }));
  if (ctx.json) ctx.out(JSON.stringify({ message_type: 'verification', snapshot_id: id, level, ok: v.ok, message: v.message }));
  else ctx.out(`  verified (${level}): ${v.ok ? 'valid' : `FAILED: ${v.message}`}`);
  return v.ok ? undefined : new HoardError('verify', `the new snapshot ${id.slice(0, 8)} failed its ${level} verification: ${v.message}`);
}

/** A protected environment's backup announces itself with what the last one took. */
function notice(ctx: CommandContext, t: BackupTarget, history: BackupRecord[]): void {
  const last = history.filter((r) => r.source === t.source).pop();
  const est = last ? `about ${size(last.size)} and ${span(last.duration_ms ?? 0)} (like the last one)` : 'size and time unknown (first backup)';
  process.stderr.write(`notice: backing up ${t.source} in the protected environment ${t.environment}: ${est}\n`);
}

function summary(ctx: CommandContext, t: BackupTarget, r: SourceBackupResult): void {
  const rec = toRecord({ id: r.snapshotId ?? '', snapshot: r.snapshot, timeMs: ctx.env.clock.now() });
  const added = r.stats.data_added;
  const total = rec.size ?? 0;
  const dedup = total > 0 ? Math.max(0, 1 - added / total) : 0;
  const dry = !r.snapshotId;
  if (ctx.json) {
    ctx.out(JSON.stringify({
      message_type: 'summary', status: 'success', dry_run: dry, snapshot_id: r.snapshotId ?? null, source: t.source, job: t.job ?? null,
      kind: t.kind, environment: t.environment ?? null, label: rec.label, size: total, data_added: added, data_added_packed: r.stats.data_added_packed,
      dedup_ratio: Number(dedup.toFixed(4)), duration: r.durationMs / 1000, expires_at: rec.expires_at, timestamp: r.snapshot.time,
      filename: (r.snapshot.hoard as { size?: { files?: { name: string }[] } } | undefined)?.size?.files?.map((x) => x.name).join(',') ?? null,
    }));
    return;
  }
  const c = paint(ctx.env.isTTY, ctx.env.vars);
  const now = ctx.env.clock.now();
  const what = r.facts?.length ? `${r.facts[0].engine} ${r.facts.map((x) => x.database).join(', ')}` : `files: ${r.snapshot.paths?.join(' ')}`;
  ctx.out(`${c.green(dry ? 'dry run' : 'saved')} ${c.bold(t.source)} ${dry ? '' : `snapshot ${c.bold(rec.short_id)} `}(${what}, kind ${t.kind}${t.environment ? `, ${t.environment}` : ''})`);
  ctx.out(`  size ${size(total)} · added ${size(added)} (${size(r.stats.data_added_packed)} stored) · dedup ${(dedup * 100).toFixed(0)}% · ${span(r.durationMs)}`);
  ctx.out(`  expires ${rec.expires_at ? `${rec.expires_at.slice(0, 10)} (${relative(Date.parse(rec.expires_at), now)})` : 'never (no retention for this kind)'}`);
  if (!dry) ctx.out(`  restore: hoard restore ${rec.short_id}${t.config.type === 'files' ? ' --target DIR' : ''}`);
}
