/**
 * The quick start's round trip on the embedded default, as a use case: a local repository under
 * `dir` (created on first run, its password in `dir`/password, mode 0600) and the bundled sample (a
 * SQLite database and files): backup → check --read-data → restore → byte-for-byte comparison →
 * database backup → database restore and comparison. Each step is told to `step` as it ends; a
 * step that finds a difference fails with kind "verify".
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backupFiles,
  checkRepository,
  HoardError,
  initRepository,
  listSnapshots,
  openRepository,
  type Reporter,
  type Repository,
  restoreTree,
  type SnapshotEntry,
  type SnapshotInfo,
} from '../core/index.js';
import { createLocalBackend } from '../backends/local/local-backend.js';
import { backupDatabase, inspect } from './database-backup.js';
import type { DatabaseFacts } from '../databases/index.js';
import { restoreDatabase } from './database-restore.js';
import { type Env, identity } from './environment.js';
import { restoreWorkers, withLock } from './repository-access.js';

/** The bundled sample (files and app.db), beside dist/ in the package. */
export const SAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../sample');

export type DemoStep =
  | { step: 'created'; repository: string; passwordFile: string }
  | { step: 'backup'; snapshot: string; files: number; bytes: number; stored: number }
  | { step: 'check'; snapshots: number; packsRead: number }
  | { step: 'restore'; files: number; target: string }
  | { step: 'database-backup'; snapshot: string; facts: DatabaseFacts }
  | { step: 'database-restore'; path: string };

export interface DemoRequest {
  /** The folder for the repository, its password and the restores. */
  dir: string;
  /** The repository's password (default: the one in `dir`/password, made on first run). */
  password?: string;
  programVersion: string;
  report?: Reporter;
  step?: (s: DemoStep) => void;
}

/** Runs the round trip; the repository's folder. */
export async function runDemo(env: Env, req: DemoRequest): Promise<{ repository: string; passwordFile: string }> {
  const passwordFile = path.join(req.dir, 'password');
  const password = req.password || (await passwordFor(passwordFile));
  const backend = createLocalBackend(path.join(req.dir, 'repo'));
  const who = identity(env);
  const fresh = !(await backend.exists());
  const repo = fresh ? await initRepository(backend, password, who) : await openRepository(backend, password);
  const step = req.step ?? (() => {});
  try {
    if (fresh) step({ step: 'created', repository: backend.location, passwordFile });
    else await repo.loadIndex();
    const info: SnapshotInfo = {
      hostname: who.hostname,
      username: who.username,
      uid: who.uid,
      gid: who.gid,
      tags: ['demo'],
      programVersion: req.programVersion,
      hoard: { kind: 'manual', label: 'demo' },
    };
    await withLock(env, repo, false, () => demoSteps(env, repo, info, req, step));
  } finally {
    await repo.close();
  }
  return { repository: path.join(req.dir, 'repo'), passwordFile };
}

async function demoSteps(
  env: Env,
  repo: Repository,
  info: SnapshotInfo,
  req: DemoRequest,
  step: (s: DemoStep) => void,
): Promise<void> {
  const sum = await backupFiles(repo, ['sample'], {
    clock: env.clock,
    info,
    cwd: path.dirname(SAMPLE),
    history: (await listSnapshots(repo)).snapshots,
    report: req.report,
  });
  step({
    step: 'backup',
    snapshot: sum.snapshotId!,
    files: sum.stats.total_files_processed,
    bytes: sum.stats.total_bytes_processed,
    stored: sum.stats.data_added_packed,
  });
  const chk = await checkRepository(repo, { readData: true });
  if (chk.errors.length)
    throw new HoardError('verify', `2. check found ${chk.errors.length} error(s): ${chk.errors[0]}`);
  step({ step: 'check', snapshots: chk.snapshots, packsRead: chk.packsRead });
  const target = path.join(req.dir, 'demo-restore');
  await fsp.rm(target, { recursive: true, force: true });
  await restoreTree(repo, sum.snapshot.tree, { target, workers: restoreWorkers() });
  const want = await files(SAMPLE);
  const restored = path.join(target, 'sample');
  for (const f of want) {
    const [a, b] = await Promise.all([fsp.readFile(path.join(SAMPLE, f)), fsp.readFile(path.join(restored, f))]);
    if (!a.equals(b)) throw new HoardError('verify', `3. restored ${f} differs from the original`);
  }
  step({ step: 'restore', files: want.length, target: restored });
  const source = { engine: 'sqlite' as const, path: path.join(SAMPLE, 'app.db') };
  const opts = { clock: env.clock, info, report: req.report };
  const db = await backupDatabase(
    repo,
    { connection: source, kind: 'manual', label: 'demo-db', source: 'sample-app-db' },
    opts,
  );
  step({ step: 'database-backup', snapshot: db.snapshotId!, facts: db.facts[0] });
  const copy = { engine: 'sqlite' as const, path: path.join(target, 'app-restored.db') };
  await restoreDatabase(
    repo,
    { snapshot: { id: db.snapshotId!, snapshot: db.snapshot } as SnapshotEntry, target: copy },
    opts,
  );
  // the restored copy's tables, counts and newest keys, as the backup recorded them
  const back = (await inspect(copy, { keys: true })).tables;
  if (JSON.stringify(back) !== JSON.stringify(db.facts[0].tables))
    throw new HoardError('verify', `5. the restored database's tables differ: ${JSON.stringify(back)}`);
  step({ step: 'database-restore', path: copy.path });
}

/** The files under `dir`, relative to `base`, sorted. */
async function files(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p, base)));
    else if (e.isFile()) out.push(path.relative(base, p));
  }
  return out.sort();
}

/** The demo password: read from `file`, or made and written there (mode 0600) on first run. */
async function passwordFor(file: string): Promise<string> {
  try {
    return (await fsp.readFile(file, 'utf8')).trim();
  } catch {
    /* first run */
  }
  const pw = randomBytes(24).toString('base64url');
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fsp.writeFile(file, `${pw}\n`, { mode: 0o600, flag: 'wx' });
  return pw;
}
