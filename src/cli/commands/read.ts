/** Commands that read snapshots: ls, restore, dump. */
import { HoardError } from '../../core/errors.js';
import { listSnapshots, findSnapshot, type SnapshotEntry } from '../../core/repository/snapshots.js';
import type { Repository } from '../../core/repository/repository.js';
import { fileContent, findNode, walkTree } from '../../core/restore/walk.js';
import { restoreTree } from '../../core/restore/restore.js';
import { openFromEnv, restoreWorkers, withLock } from '../../app/repository-access.js';
import { type Command, type CommandContext, formatBytes } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { DB_RESTORE_FLAGS, runDatabaseRestore } from './database.js';

function needId(ctx: CommandContext, what: string): string {
  const id = ctx.args.positionals[0];
  if (!id) throw new HoardError('usage', `${what} needs a snapshot id`, { hint: 'give an id, a unique prefix or "latest" (see `hoard snapshots`)' });
  return id;
}

/** Opens the repository, takes a shared lock and resolves the snapshot; runs work with both. */
async function withSnapshot(ctx: CommandContext, ref: string, work: (repo: Repository, s: SnapshotEntry) => Promise<number>): Promise<number> {
  const repo = await openFromEnv(ctx.env, { repo: ctx.args.flags.repo as string | undefined, signal: ctx.signal });
  try {
    return await withLock(ctx.env, repo, false, async () => {
      const source = ctx.args.flags.source as string | undefined;
      const s = findSnapshot((await listSnapshots(repo, ctx.signal)).snapshots, ref, { host: ctx.args.flags.host as string | undefined, tags: source ? [`source:${source}`] : undefined });
      return work(repo, s);
    });
  } finally {
    await repo.close();
  }
}

export const lsCommand: Command = {
  name: 'ls', summary: 'list the files of a snapshot', usage: 'hoard ls ID [PATH]',
  flags: { host: { type: 'string', help: 'with "latest": only snapshots of this host' } },
  run: (ctx) => withSnapshot(ctx, needId(ctx, 'ls'), async (repo, s) => {
    const under = (ctx.args.positionals[1] ?? '/').replace(/\/+$/, '');
    if (ctx.json) ctx.out(JSON.stringify({ struct_type: 'snapshot', id: s.id, short_id: s.id.slice(0, 8), time: s.snapshot.time, paths: s.snapshot.paths, hostname: s.snapshot.hostname ?? '' }));
    else ctx.out(`snapshot ${s.id.slice(0, 8)} of [${(s.snapshot.paths ?? []).join(' ')}] at ${s.snapshot.time}:`);
    for await (const { path, node } of walkTree(repo, s.snapshot.tree, Buffer.alloc(0), ctx.signal)) {
      const p = path.toString();
      if (under && p !== under && !p.startsWith(`${under}/`)) continue;
      if (ctx.json) ctx.out(JSON.stringify({ struct_type: 'node', name: node.name.toString(), type: node.type, path: p, uid: node.uid, gid: node.gid, size: node.size ?? 0, mode: node.mode ?? 0, mtime: node.mtime, atime: node.atime, ctime: node.ctime }));
      else ctx.out(p);
    }
    return 0;
  }),
};

export const restoreCommand: Command = {
  name: 'restore', summary: 'restore a snapshot into a folder or a database',
  usage: 'hoard restore ID|latest|LABEL --target DIR [--include PATH]...\n       hoard restore ID|latest|LABEL [--target URL|env:VAR] [--target-db NAME] [--dry-run] [--yes]',
  flags: {
    ...DB_RESTORE_FLAGS,
    target: { type: 'string', short: 't', help: 'folder to restore files into (created when missing), or a database URL for a database snapshot (default: where it came from)' },
    include: { type: 'list', short: 'i', help: 'restore only this path of the snapshot (repeatable)' },
    host: { type: 'string', help: 'with "latest": only snapshots of this host' },
  },
  async run(ctx) {
    const target = ctx.args.flags.target as string | undefined;
    return withSnapshot(ctx, needId(ctx, 'restore'), async (repo, s) => {
      if ((s.snapshot.hoard as { database?: unknown } | undefined)?.database) return runDatabaseRestore(ctx, repo, s);
      if (!target) throw new HoardError('usage', 'restore needs --target DIR', { hint: 'e.g. hoard restore latest --target /tmp/restore' });
      for (const fl of ['target-db', 'database', 'dry-run', 'yes']) {
        if (ctx.args.flags[fl] !== undefined) throw new HoardError('usage', `--${fl} is for database snapshots; ${s.id.slice(0, 8)} holds files`, { hint: 'restore files with --target DIR [--include PATH]' });
      }
      const sum = await restoreTree(repo, s.snapshot.tree, {
        target, include: ctx.args.flags.include as string[] | undefined, signal: ctx.signal, report: ctx.report,
        restoreOwner: process.getuid?.() === 0, workers: restoreWorkers(),
      });
      const failed = sum.errors.length > 0;
      if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', snapshot_id: s.id, target, files_restored: sum.files, dirs_restored: sum.dirs, bytes_restored: sum.bytes, errors: sum.errors }));
      else {
        ctx.out(`restored snapshot ${s.id.slice(0, 8)} to ${target}: ${sum.files} files, ${sum.dirs} folders, ${formatBytes(sum.bytes)}`);
        if (failed) ctx.out(`${sum.errors.length} item(s) could NOT be restored (see errors above); run \`hoard check --read-data\``);
      }
      if (!failed) return 0;
      return sum.errors.some((e) => e.kind === 'corrupt') ? EXIT.verify : EXIT.failure;
    });
  },
};

export const dumpCommand: Command = {
  name: 'dump', summary: 'write one file of a snapshot to standard output', usage: 'hoard dump ID PATH',
  flags: { host: { type: 'string', help: 'with "latest": only snapshots of this host' } },
  run: (ctx) => withSnapshot(ctx, needId(ctx, 'dump'), async (repo, s) => {
    const path = ctx.args.positionals[1];
    if (!path) throw new HoardError('usage', 'dump needs a PATH inside the snapshot', { hint: 'see `hoard ls ID` for the paths' });
    const node = await findNode(repo, s.snapshot.tree, path);
    if (!node) throw new HoardError('not-found', `no ${path} in snapshot ${s.id.slice(0, 8)}`, { hint: 'see `hoard ls ID` for the paths' });
    if (node.type !== 'file') throw new HoardError('usage', `${path} is a ${node.type}, not a file`, { hint: 'use `hoard restore --include` for folders' });
    repo.enableReadAhead();
    for await (const chunk of fileContent(repo, node, ctx.signal, 8)) {
      if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
    }
    return 0;
  }),
};
