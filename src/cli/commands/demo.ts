/**
 * The quick start's round trip on the embedded default: a local repository under .hoard/ (created
 * on first run, password in .hoard/password, mode 0600) and the bundled sample (a SQLite database
 * and files): backup → check --read-data → restore → byte-for-byte comparison.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backupFiles, checkRepository, HoardError, initRepository, listSnapshots, openRepository, restoreTree, type SnapshotEntry } from '../../core/index.js';
import { createLocalBackend } from '../../backends/local/local-backend.js';
import { identity } from '../../app/environment.js';
import { restoreWorkers, withLock } from '../../app/repository-access.js';
import { backupDatabase, inspect } from '../../app/database-backup.js';
import { restoreDatabase } from '../../app/database-restore.js';
import { type Command, formatBytes } from '../context.js';
import { VERSION } from '../version.js';

const SAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../sample');

async function files(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p, base)));
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out.sort();
}

async function passwordFor(dir: string): Promise<string> {
  const file = path.join(dir, 'password');
  try { return (await fsp.readFile(file, 'utf8')).trim(); } catch { /* first run */ }
  const pw = randomBytes(24).toString('base64url');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.writeFile(file, `${pw}\n`, { mode: 0o600, flag: 'wx' });
  return pw;
}

export const demoCommand: Command = {
  name: 'demo', summary: 'round trip on the bundled sample: backup, check, restore, compare',
  usage: 'hoard demo [--dir .hoard]',
  flags: { dir: { type: 'string', help: 'folder for the demo repository and password (default .hoard)' } },
  async run(ctx) {
    const dir = path.resolve(ctx.env.cwd, (ctx.args.flags.dir as string | undefined) ?? '.hoard');
    const password = ctx.env.vars.HOARD_PASSWORD || (await passwordFor(dir));
    const backend = createLocalBackend(path.join(dir, 'repo'));
    const who = identity(ctx.env);
    const fresh = !(await backend.exists());
    const repo = fresh ? await initRepository(backend, password, who) : await openRepository(backend, password);
    if (fresh) ctx.out(`created repository ${backend.location} (password in ${path.join(dir, 'password')}: keep a copy elsewhere)`);
    else await repo.loadIndex();
    const info = { hostname: who.hostname, username: who.username, uid: who.uid, gid: who.gid, tags: ['demo'], programVersion: `hoard ${VERSION}`, hoard: { kind: 'manual', label: 'demo' } };
    const sum = await withLock(ctx.env, repo, false, async () => backupFiles(repo, ['sample'], {
      clock: ctx.env.clock, info, cwd: path.dirname(SAMPLE), history: (await listSnapshots(repo)).snapshots, report: ctx.report,
    }));
    ctx.out(`1. backup: snapshot ${sum.snapshotId!.slice(0, 8)} of ${sum.stats.total_files_processed} files, ${formatBytes(sum.stats.total_bytes_processed)} (${formatBytes(sum.stats.data_added_packed)} newly stored)`);
    const chk = await withLock(ctx.env, repo, false, () => checkRepository(repo, { readData: true }));
    if (chk.errors.length) throw new HoardError('verify', `2. check found ${chk.errors.length} error(s): ${chk.errors[0]}`);
    ctx.out(`2. check --read-data: ${chk.snapshots} snapshot(s), ${chk.packsRead} pack(s) read, no errors`);
    const target = path.join(dir, 'demo-restore');
    await fsp.rm(target, { recursive: true, force: true });
    await restoreTree(repo, sum.snapshot.tree, { target, workers: restoreWorkers() });
    const want = await files(SAMPLE);
    const restored = path.join(target, 'sample');
    for (const f of want) {
      const [a, b] = await Promise.all([fsp.readFile(path.join(SAMPLE, f)), fsp.readFile(path.join(restored, f))]);
      if (!a.equals(b)) throw new HoardError('verify', `3. restored ${f} differs from the original`);
    }
    ctx.out(`3. restore: ${want.length} files in ${restored} are identical to the originals`);
    const source = { engine: 'sqlite' as const, path: path.join(SAMPLE, 'app.db') };
    const opts = { clock: ctx.env.clock, info: { ...info, tags: ['demo'] }, report: ctx.report };
    const db = await withLock(ctx.env, repo, false, () => backupDatabase(repo, { connection: source, kind: 'manual', label: 'demo-db', source: 'sample-app-db' }, opts));
    const tables = db.facts[0].tables;
    ctx.out(`4. database backup: snapshot ${db.snapshotId!.slice(0, 8)} of app.db (online copy, integrity_check ok): ${tables.map((t) => `${t.name} ${t.rows} rows`).join(', ')}${db.facts[0].migrations.map((m) => `; ${m.framework} migrations: ${m.applied} applied, last ${m.last}`).join('')}`);
    const copy = { engine: 'sqlite' as const, path: path.join(target, 'app-restored.db') };
    await withLock(ctx.env, repo, false, () => restoreDatabase(repo, { snapshot: { id: db.snapshotId!, snapshot: db.snapshot } as SnapshotEntry, target: copy }, opts));
    const back = (await inspect(copy)).tables;
    if (JSON.stringify(back) !== JSON.stringify(tables)) throw new HoardError('verify', `5. the restored database's tables differ: ${JSON.stringify(back)}`);
    ctx.out(`5. database restore: ${copy.path} passed integrity_check and holds the same tables and row counts`);
    const self = path.relative(ctx.env.cwd, fileURLToPath(new URL('../main.js', import.meta.url)));
    ctx.out(`Try: HOARD_REPOSITORY=${path.relative(ctx.env.cwd, path.join(dir, 'repo')) || '.'} HOARD_PASSWORD_FILE=${path.relative(ctx.env.cwd, path.join(dir, 'password'))} node ${self} snapshots`);
    await repo.close();
    return 0;
  },
};
