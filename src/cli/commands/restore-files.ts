/** The files half of `restore`: a dry-run plan, and confirmation before writing into a protected environment's folder. */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError, type Repository, type SnapshotEntry, walkTree } from '../../core/index.js';
import { protectedRestoreEnvironment } from '../../app/protection.js';
import type { CommandContext } from '../context.js';
import { confirmProtected } from '../prompt.js';
import { size } from '../render.js';

/** The protected environment a restore acts in, if any. */
export async function protectedEnvironment(ctx: CommandContext, s: SnapshotEntry): Promise<string | undefined> {
  return protectedRestoreEnvironment(await ctx.project(), s);
}

async function holdsFiles(dir: string): Promise<boolean> {
  return readdir(dir).then((e) => e.length > 0, () => false);
}

/** Asks before restoring into a non-empty folder in a protected environment. */
export async function confirmFiles(ctx: CommandContext, s: SnapshotEntry, target: string): Promise<void> {
  const env = await protectedEnvironment(ctx, s);
  if (env && (await holdsFiles(path.resolve(ctx.env.cwd, target)))) await confirmProtected(ctx, env, `restore snapshot ${s.id.slice(0, 8)} into ${target}, which holds files,`);
}

/** `restore --dry-run` of a files snapshot: what would be written where; nothing is. */
export async function planFiles(ctx: CommandContext, repo: Repository, s: SnapshotEntry, target: string): Promise<number> {
  const include = (ctx.args.flags.include as string[] | undefined) ?? [];
  let files = 0, bytes = 0;
  for await (const { path: p, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), ctx.signal)) {
    const name = p.toString();
    if (include.length && !include.some((i) => name === i || name.startsWith(`${i.replace(/\/+$/, '')}/`))) continue;
    if (node.type === 'file') { files++; bytes += node.size ?? 0; }
  }
  if (files === 0 && include.length) throw new HoardError('not-found', `nothing in snapshot ${s.id.slice(0, 8)} matches ${include.join(', ')}`, { hint: 'see `hoard ls ID`' });
  const exists = await holdsFiles(path.resolve(ctx.env.cwd, target));
  const env = await protectedEnvironment(ctx, s);
  if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', status: 'success', dry_run: true, snapshot_id: s.id, target, files, bytes, target_exists: exists, protected_environment: env ?? null }));
  else {
    ctx.out(`would restore ${files} files (${size(bytes)}) of snapshot ${s.id.slice(0, 8)} into ${target}`);
    ctx.out(exists ? `${target} holds files: same-named files would be replaced${env ? ` (protected environment ${env}: needs confirmation)` : ''}` : `${target} is empty or missing; nothing was changed`);
  }
  return 0;
}
