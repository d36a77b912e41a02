/** `hoard backup [SOURCE|JOB|ENVIRONMENT…]`: the sources of hoard.yaml, one snapshot each, with a summary per snapshot. */
import type { BackupTarget, SourceBackupResult } from '../../app/source-backup.js';
import { type JobCopyOutcome, type SourceOutcome, backupProject, firstProblem } from '../../app/project-backup.js';
import { policyOf } from '../../app/project.js';
import { type BackupRecord, toRecord } from '../../app/snapshot-view.js';
import type { CommandContext } from '../context.js';
import { exitCodeFor } from '../exit-codes.js';
import { paint, relative, size, span } from '../render.js';
import { backupOptions, labelsFrom, retentionFlag } from './database.js';
import { compressionFlag, textFlag } from '../args.js';

export async function runProjectBackup(ctx: CommandContext): Promise<number> {
  const f = ctx.args.flags;
  const p = await ctx.project();
  const o = backupOptions(ctx);
  const l = labelsFrom(ctx);
  let several = false; // one source's failure is the command's error; of several, each is printed
  const r = await backupProject(
    ctx.env,
    p,
    {
      label: l.label,
      reason: l.reason,
      description: l.description,
      ticket: l.ticket,
      names: ctx.args.positionals,
      kind: textFlag(ctx.args, 'kind'),
      retentionDays: retentionFlag(f.retention),
      info: o.info,
      dryRun: o.dryRun,
      compression: compressionFlag(f.compression),
      signal: ctx.signal,
    },
    {
      report: ctx.report,
      planned: (targets) => {
        several = targets.length > 1;
      },
      started: (t, previous) => {
        if (t.environment && policyOf(p, t.environment).protected) notice(t, previous);
      },
      finished: (s) => {
        if (several || !s.error) render(ctx, s);
      },
    },
  );
  if (!several && r.sources[0]?.error) throw r.sources[0].error;
  for (const c of r.copies) renderCopy(ctx, c);
  const failed = firstProblem(r);
  return failed ? exitCodeFor(failed.kind) : 0;
}

/** One source's outcome: its summary and verification, or its failure. */
function render(ctx: CommandContext, s: SourceOutcome): void {
  const he = s.error;
  if (!he) {
    summary(ctx, s.target, s.result!, s.backup);
    const v = s.verification;
    if (!v) return;
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'verification',
          snapshot_id: s.backup!.id,
          level: v.level,
          ok: v.ok,
          message: v.message,
        }),
      );
    else ctx.out(`  verified (${v.level}): ${v.ok ? 'valid' : `FAILED: ${v.message}`}`);
    return;
  }
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        message_type: 'error',
        source: s.target.source,
        status: 'failed',
        kind: he.kind,
        message: he.message,
        hint: he.hint ?? null,
      }),
    );
  else
    process.stderr.write(`hoard: ${s.target.source}: backup FAILED: ${he.message}\n${he.hint ? `  ${he.hint}\n` : ''}`);
}

/** A job's copy to another destination: a failed copy warns; the backup stands. */
function renderCopy(ctx: CommandContext, c: JobCopyOutcome): void {
  if (c.ok) {
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'copy',
          job: c.job,
          destination: c.destination,
          status: 'success',
          copied: c.copied,
          skipped: c.skipped,
          bytes_added: c.bytes,
        }),
      );
    else ctx.out(`copied ${c.copied.length} snapshot(s) of job ${c.job} to ${c.destination} (${size(c.bytes)} new)`);
    return;
  }
  const e = c.error!;
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        message_type: 'copy',
        job: c.job,
        destination: c.destination,
        status: 'failed',
        kind: e.kind,
        message: e.message,
      }),
    );
  else
    process.stderr.write(
      `hoard: WARNING: the copy of job ${c.job} to ${c.destination} failed (the backup itself is kept): ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`,
    );
}

/** A protected environment's backup announces itself with what the last one took. */
function notice(t: BackupTarget, last: BackupRecord | undefined): void {
  const est = last
    ? `about ${size(last.size)} and ${span(last.duration_ms ?? 0)} (like the last one)`
    : 'size and time unknown (first backup)';
  process.stderr.write(`notice: backing up ${t.source} in the protected environment ${t.environment}: ${est}\n`);
}

/** `made`: the new snapshot's record (absent on a dry run, which has none). */
function summary(ctx: CommandContext, t: BackupTarget, r: SourceBackupResult, made: BackupRecord | undefined): void {
  const rec = made ?? toRecord({ id: '', snapshot: r.snapshot, timeMs: ctx.env.clock.now() });
  const added = r.stats.data_added;
  const total = rec.size ?? 0;
  const dedup = total > 0 ? Math.max(0, 1 - added / total) : 0;
  const dry = !r.snapshotId;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        status: 'success',
        dry_run: dry,
        snapshot_id: r.snapshotId ?? null,
        source: t.source,
        job: t.job ?? null,
        kind: t.kind,
        environment: t.environment ?? null,
        label: rec.label,
        size: total,
        data_added: added,
        data_added_packed: r.stats.data_added_packed,
        dedup_ratio: Number(dedup.toFixed(4)),
        duration: r.durationMs / 1000,
        expires_at: rec.expires_at,
        timestamp: r.snapshot.time,
        filename:
          (r.snapshot.hoard as { size?: { files?: { name: string }[] } } | undefined)?.size?.files
            ?.map((x) => x.name)
            .join(',') ?? null,
      }),
    );
    return;
  }
  const c = paint(ctx.env.isTTY, ctx.env.vars);
  const now = ctx.env.clock.now();
  const what = r.facts?.length
    ? `${r.facts[0].engine} ${r.facts.map((x) => x.database).join(', ')}`
    : `files: ${r.snapshot.paths?.join(' ')}`;
  ctx.out(
    `${c.green(dry ? 'dry run' : 'saved')} ${c.bold(t.source)} ${dry ? '' : `snapshot ${c.bold(rec.short_id)} `}(${what}, kind ${t.kind}${t.environment ? `, ${t.environment}` : ''})`,
  );
  ctx.out(
    `  size ${size(total)} · added ${size(added)} (${size(r.stats.data_added_packed)} stored) · dedup ${(dedup * 100).toFixed(0)}% · ${span(r.durationMs)}`,
  );
  ctx.out(
    `  expires ${rec.expires_at ? `${rec.expires_at.slice(0, 10)} (${relative(Date.parse(rec.expires_at), now)})` : 'never (no retention for this kind)'}`,
  );
  if (!dry) ctx.out(`  restore: hoard restore ${rec.short_id}${t.config.type === 'files' ? ' --target DIR' : ''}`);
}
