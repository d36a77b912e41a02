/** Commands that read snapshots: ls, restore, dump. */
import { listFlag, textFlag } from '../args.js';
import { HoardError, type Repository, type SnapshotEntry } from '../../core/index.js';
import { snapshotNodes } from '../../app/artifact.js';
import type { SnapshotChoice } from '../../app/select.js';
import { withChosenSnapshot } from '../../app/catalog.js';
import { restoreSnapshot } from '../../app/restore.js';
import { toRecord } from '../../app/snapshot-view.js';
import { confirmProtected } from '../prompt.js';
import type { Command, CommandContext } from '../context.js';
import type { FlagSpecs } from '../args.js';
import { reportFilesRestore } from './restore-files.js';
import { dumpArtifact } from './dump-artifact.js';
import { DB_RESTORE_FLAGS, backupOptions, jobsFlag, reportDatabaseRestore, targetFlag } from './database.js';

/** The snapshot the command names: ID|latest|LABEL, or --latest / --name / --at, narrowed by --source and --host. */
function choice(ctx: CommandContext, what: string): SnapshotChoice {
  const f = ctx.args.flags;
  const c: SnapshotChoice = {
    ref: ctx.args.positionals[0],
    latest: f.latest === true,
    name: textFlag(ctx.args, 'name'),
    at: textFlag(ctx.args, 'at'),
    source: textFlag(ctx.args, 'source'),
    host: textFlag(ctx.args, 'host'),
  };
  if (!c.ref && !c.latest && c.name === undefined && c.at === undefined) {
    throw new HoardError('usage', `${what} needs a snapshot`, {
      hint:
        'give an id, a unique prefix, "latest" or a label, or --latest / --name LABEL / --at TIME ' +
        '(see `hoard list`)',
    });
  }
  return c;
}

/** Opens the repository, takes a shared lock and resolves the snapshot; runs work with both. */
async function withSnapshot(
  ctx: CommandContext,
  c: SnapshotChoice,
  work: (repo: Repository, s: SnapshotEntry) => Promise<number>,
): Promise<number> {
  return withChosenSnapshot(ctx.env, await ctx.project(), c, (repo, s) => work(repo, s), { signal: ctx.signal });
}

import { PITR_FLAGS, pointInTime } from './restore-pitr.js';

const CHOICE_FLAGS: FlagSpecs = {
  latest: { type: 'boolean', help: 'the newest snapshot (of --source / --name)' },
  name: { type: 'string', help: 'the snapshot with this label (add --latest when several have it)' },
  at: {
    type: 'string',
    help: 'the newest snapshot taken at or before TIME (2026-11-20 14:30, RFC 3339, "3 hours ago")',
  },
  source: { type: 'string', help: 'only snapshots of this source' },
  host: { type: 'string', help: 'only snapshots of this host' },
};

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files of a snapshot',
  usage: 'hoard ls ID [PATH]',
  flags: { host: CHOICE_FLAGS.host, source: CHOICE_FLAGS.source },
  run: (ctx) =>
    withSnapshot(ctx, choice(ctx, 'ls'), async (repo, s) => {
      if (ctx.json)
        ctx.out(
          JSON.stringify({
            struct_type: 'snapshot',
            id: s.id,
            short_id: s.id.slice(0, 8),
            time: s.snapshot.time,
            paths: s.snapshot.paths,
            hostname: s.snapshot.hostname ?? '',
          }),
        );
      else ctx.out(`snapshot ${s.id.slice(0, 8)} of [${(s.snapshot.paths ?? []).join(' ')}] at ${s.snapshot.time}:`);
      for await (const { path: p, node } of snapshotNodes(repo, s, ctx.args.positionals[1] ?? '/', ctx.signal)) {
        if (ctx.json)
          ctx.out(
            JSON.stringify({
              struct_type: 'node',
              name: node.name.toString(),
              type: node.type,
              path: p,
              uid: node.uid,
              gid: node.gid,
              size: node.size ?? 0,
              mode: node.mode ?? 0,
              mtime: node.mtime,
              atime: node.atime,
              ctime: node.ctime,
            }),
          );
        else ctx.out(p);
      }
      return 0;
    }),
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'restore a snapshot into a folder or a database',
  usage:
    'hoard restore ID|latest|LABEL --target DIR|NAME|--in-place [--include PATH]...\n       hoard ' +
    'restore ID|latest|LABEL [--target URL|env:VAR|NAME] [--target-db NAME] [--dry-run] [--yes]\n     ' +
    '  hoard restore --latest|--name LABEL|--at TIME [--source S] [...]',
  flags: {
    ...DB_RESTORE_FLAGS,
    ...CHOICE_FLAGS,
    target: {
      type: 'string',
      short: 't',
      help:
        'a folder to restore files into (created when missing), a database URL or env:VAR for a ' +
        'database snapshot (default: its source as hoard.yaml configures it), or the name of a restore ' +
        'target in hoard.yaml',
    },
    include: { type: 'list', short: 'i', help: 'restore only this path of the snapshot (repeatable)' },
    'in-place': {
      type: 'boolean',
      help:
        "restore into the backup's own source as hoard.yaml configures it (a files source's folders: " +
        'after a pre-restore snapshot)',
    },
    'keep-set-id': { type: 'boolean', help: 'keep setuid/setgid bits of files (default: only with --in-place)' },
    ...PITR_FLAGS,
  },
  async run(ctx) {
    const pitr = await pointInTime(ctx);
    if (pitr !== undefined) return pitr;
    return withSnapshot(ctx, choice(ctx, 'restore'), async (repo, s) => {
      const f = ctx.args.flags;
      const isDb = !!(s.snapshot.hoard as { database?: unknown } | undefined)?.database;
      for (const fl of isDb ? ['include'] : ['target-db', 'database']) {
        if (f[fl] !== undefined)
          throw new HoardError(
            'usage',
            `--${fl} is for ${isDb ? 'files' : 'database'} snapshots; ${s.id.slice(0, 8)} holds ${isDb ? 'a database' : 'files'}`,
            {
              hint: isDb
                ? 'restore the database with --target URL [--target-db NAME]'
                : 'restore files with --target DIR [--include PATH]',
            },
          );
      }
      const inPlace = f['in-place'] === true;
      if (inPlace && f.target !== undefined) throw new HoardError('usage', 'give --target or --in-place, not both');
      const source = toRecord(s).source;
      if (inPlace && !source)
        throw new HoardError('usage', `backup ${s.id.slice(0, 8)} is of no source, so it has no place of its own`, {
          hint: 'restore it with --target',
        });
      const r = await restoreSnapshot(
        await ctx.project(),
        repo,
        s,
        {
          target: inPlace ? undefined : await targetFlag(ctx, isDb),
          targetName: inPlace ? source! : undefined,
          keepSetId: f['keep-set-id'] === true ? true : undefined,
          targetDb: textFlag(ctx.args, 'target-db'),
          database: textFlag(ctx.args, 'database'),
          include: listFlag(ctx.args, 'include'),
          dryRun: f['dry-run'] === true,
          confirmed: f.yes === true,
          jobs: jobsFlag(ctx),
          confirm: (what, environment) => confirmProtected(ctx, environment, what),
        },
        backupOptions(ctx, { dryRun: false }),
      );
      return isDb ? reportDatabaseRestore(ctx, r) : reportFilesRestore(ctx, r);
    });
  },
};

export const dumpCommand: Command = {
  name: 'dump',
  summary: "write a backup's file: the dump as app.sql[.gz|.zst], or PATH to standard output",
  usage: 'hoard dump ID [--gzip|--zstd] [--output FILE|-] [--force]\n       hoard dump ID PATH   (to standard output)',
  flags: {
    ...CHOICE_FLAGS,
    gzip: { type: 'boolean', help: 'compress with gzip (.gz)' },
    zstd: { type: 'boolean', help: 'compress with zstd (.zst)' },
    output: {
      type: 'string',
      short: 'o',
      help: 'write to FILE ("-": standard output); default: the file\'s name in the current folder',
    },
    force: { type: 'boolean', help: 'replace an existing output file' },
  },
  run: (ctx) => withSnapshot(ctx, choice(ctx, 'dump'), (repo, s) => dumpArtifact(ctx, repo, s)),
};
