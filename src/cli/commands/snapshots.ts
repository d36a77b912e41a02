import { findSnapshots } from '../../app/catalog.js';
import { listFlag, textFlag } from '../args.js';
import { reading } from './list.js';
import type { SnapshotEntry } from '../../core/index.js';
import { type Command, formatLocalTime } from '../context.js';

/** The stable JSON shape of a snapshot (documented in docs/cli.md). */
export function snapshotJson(e: SnapshotEntry): Record<string, unknown> {
  const s = e.snapshot;
  return {
    id: e.id,
    short_id: e.id.slice(0, 8),
    time: s.time,
    tree: s.tree,
    paths: s.paths ?? [],
    hostname: s.hostname ?? '',
    username: s.username ?? '',
    uid: s.uid ?? 0,
    gid: s.gid ?? 0,
    tags: s.tags ?? [],
    excludes: s.excludes ?? [],
    ...(s.parent ? { parent: s.parent } : {}),
    ...(s.original ? { original: s.original } : {}),
    ...(s.program_version ? { program_version: s.program_version } : {}),
    ...(s.summary ? { summary: s.summary } : {}),
    ...(s.hoard ? { hoard: s.hoard } : {}),
  };
}

export const snapshotsCommand: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  usage: 'hoard snapshots [--host H] [--tag T] [--path P]',
  flags: {
    host: { type: 'string', help: 'only snapshots of this host' },
    tag: { type: 'list', help: 'only snapshots with this tag (repeatable)' },
    path: { type: 'list', help: 'only snapshots that include this path (repeatable)' },
  },
  async run(ctx) {
    const filter = {
      host: textFlag(ctx.args, 'host'),
      tags: listFlag(ctx.args, 'tag'),
      paths: listFlag(ctx.args, 'path'),
    };
    const list = await findSnapshots(ctx.env, await ctx.project(), filter, reading(ctx));
    const shown = list.snapshots;
    for (const d of list.damaged)
      process.stderr.write(`warning: snapshot ${d.id.slice(0, 8)} cannot be read: ${d.error}\n`);
    if (ctx.json) {
      ctx.out(JSON.stringify(shown.map(snapshotJson)));
      return 0;
    }
    const rows = shown.map((e) => [
      e.id.slice(0, 8),
      formatLocalTime(e.timeMs),
      e.snapshot.hostname ?? '',
      (e.snapshot.tags ?? []).join(','),
      (e.snapshot.paths ?? []).join(' '),
    ]);
    const head = ['ID', 'Time', 'Host', 'Tags', 'Paths'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd();
    ctx.out(fmt(head));
    ctx.out('-'.repeat(fmt(head).length));
    for (const r of rows) ctx.out(fmt(r));
    ctx.out(`${shown.length} snapshot${shown.length === 1 ? '' : 's'}`);
    return 0;
  },
};
