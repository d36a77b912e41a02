/** The files half of `restore`'s output: a dry run's plan, or what was restored (text or --json), and the failure after it. */
import { restoreError, type RestoreResult } from '../../app/restore.js';
import { type CommandContext, formatBytes } from '../context.js';
import { size } from '../render.js';

/** Prints a files restore's outcome; throws the restore's failure (after the summary) when items could not be restored. */
export function reportFilesRestore(ctx: CommandContext, r: RestoreResult): number {
  const f = r.files!;
  const id = r.snapshot_id.slice(0, 8);
  if (r.dry_run) {
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'summary',
          status: 'success',
          dry_run: true,
          snapshot_id: r.snapshot_id,
          target: r.target,
          files: f.files,
          bytes: f.bytes,
          target_exists: f.target_exists,
          protected_environment: r.protected_environment,
        }),
      );
    else {
      ctx.out(`would restore ${f.files} files (${size(f.bytes)}) of snapshot ${id} into ${r.target}`);
      ctx.out(
        f.target_exists
          ? `${r.target} holds files: a pre-restore snapshot would be taken first, then same-named files replaced${r.protected_environment ? ` (protected environment ${r.protected_environment}: needs confirmation)` : ''}`
          : `${r.target} is empty or missing; nothing was changed`,
      );
    }
    return 0;
  }
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        snapshot_id: r.snapshot_id,
        target: r.target,
        files_restored: f.files,
        dirs_restored: f.dirs,
        bytes_restored: f.bytes,
        errors: f.errors,
        pre_restore_snapshot_id: r.pre_restore_snapshot_id,
      }),
    );
  else {
    ctx.out(`restored snapshot ${id} to ${r.target}: ${f.files} files, ${f.dirs} folders, ${formatBytes(f.bytes)}`);
    if (r.pre_restore_snapshot_id)
      ctx.out(`what ${r.target} held before is in pre-restore snapshot ${r.pre_restore_snapshot_id.slice(0, 8)}`);
    if (f.errors.length) ctx.out(`${f.errors.length} item(s) could NOT be restored (see errors above)`);
  }
  const failure = restoreError(r);
  if (failure) throw failure;
  return 0;
}
