/**
 * One use case, every door: the CLI, the library and the REST API reach the same operation in
 * src/app and behave alike (issue 22's drift). Each test here failed on the code where the doors
 * had their own copies: the library skipped verify.after_backup, GET /backups ignored a prune's
 * exclusive lock, the API took no include, status knew no next run for cron or a job's timezone,
 * global flags before the command were "unknown command", verify.min_size held only in the CLI
 * (and a failed after-backup verification failed only the CLI's run),
 * and a program started with `node --input-type=module -e` failed every restore (its workers
 * inherited `--input-type`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openHoard } from '../../src/index.js';
import { createLocalBackend } from '../../src/backends/local/local-backend.js';
import { openRepository } from '../../src/core/repository/open.js';
import { acquireLock } from '../../src/core/repository/locks.js';
import { createClient } from '../../src/api/client.js';
import { CLI, ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';

/** A project with the bundled SQLite sample, not yet backed up. */
async function project(t: import('node:test').TestContext, extra = ''): Promise<string> {
  const dir = await tempDir(t, 'hoard-doors-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
  if (extra) await appendFile(path.join(dir, 'hoard.yaml'), extra);
  return dir;
}

interface Task {
  status: string;
  result?: { ok?: boolean };
  error?: unknown;
}

/** Waits (up to 30 s) for an API task to end; the task as it ended. */
async function endOf(api: ReturnType<typeof createClient>, id: string): Promise<Task> {
  let task: Task = { status: 'running' };
  for (let i = 0; i < 300 && task.status === 'running'; i++) {
    await new Promise((res) => setTimeout(res, 100));
    task = ((await api.raw('GET', `/tasks/${id}`)).body as { task: Task }).task;
  }
  return task;
}

/** Serves the project with a backup+read token, POSTs `body` to `route` and waits for the task it starts. */
async function served(
  t: import('node:test').TestContext,
  dir: string,
  route: string,
  body: Record<string, unknown>,
): Promise<Task> {
  const { ci } = await addServerSection(dir, [['ci', 'backup,read']]);
  const { base } = await serve(t, dir);
  const api = createClient(base, ci.token);
  const started = await api.raw('POST', route, body);
  assert.equal(started.status, 202, started.text);
  return endOf(api, (started.body as { task_id: string }).task_id);
}

/** Waits for an API task to end; fails unless it succeeded. */
async function waitForTask(api: ReturnType<typeof createClient>, id: string): Promise<void> {
  const task = await endOf(api, id);
  assert.equal(task.status, 'succeeded', JSON.stringify(task));
}

describe('every door, one use case', () => {
  it('the library and POST /backups verify each new backup as verify.after_backup says, like the CLI', async (t) => {
    const dir = await project(t, '\nverify:\n  after_backup: quick\n');
    const h = await openHoard({ cwd: dir, vars: { ...process.env, ...CLEAN_ENV } });
    const events: string[] = [];
    h.on('verify.succeeded', (e) => events.push(`${e.result.level}:${e.result.backup.id}`));
    const r = await h.backup({ sources: ['app'] });
    const made = r.created[0];
    assert.equal(made.verification?.level, 'quick');
    assert.equal(made.verification?.ok, true);
    assert.deepEqual(events, [`quick:${made.id}`]);
    assert.equal(
      (await h.info(made.id)).verification?.level,
      'quick',
      'the verification is recorded in the repository',
    );

    const { ci } = await addServerSection(dir, [['ci', 'backup,read']]);
    const { base } = await serve(t, dir);
    const api = createClient(base, ci.token);
    const started = await api.raw('POST', '/backups', { source: 'app' });
    assert.equal(started.status, 202, started.text);
    await waitForTask(api, (started.body as { task_id: string }).task_id);
    const latest = (await api.getBackup('latest')).backup;
    assert.notEqual(latest.id, made.id);
    assert.equal(latest.verification?.level, 'quick');
  });

  it("GET /backups and /backups/:id wait for a prune's exclusive lock, as hoard list does", async (t) => {
    const dir = await project(t);
    assert.equal((await hoard(['backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const { reader } = await addServerSection(dir, [['reader', 'read']]);
    const { base } = await serve(t, dir);
    const api = createClient(base, reader.token);
    assert.equal((await api.listBackups()).count, 1);

    const password = (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim();
    const repo = await openRepository(createLocalBackend(path.join(dir, '.hoard', 'repo')), password);
    t.after(() => repo.close());
    const lock = await acquireLock(repo, true, {
      clock: { now: () => Date.now() },
      settleMs: 10,
      owner: { hostname: 'other-host', username: 'ops', pid: 4242, isProcessAlive: () => true },
    });
    let released = 0;
    const answered = (p: Promise<unknown>) => p.then((v) => ({ v, at: Date.now() }));
    // the CLI's list as a child whose stderr is watched: the lock goes only once it says it waits
    const child = spawn(process.execPath, [CLI, 'list', '--json'], { cwd: dir, env: { ...process.env, ...CLEAN_ENV } });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const listed = new Promise<{ code: number; stdout: string; stderr: string }>((res) =>
      child.on('close', (code) => res({ code: code ?? -1, stdout, stderr })),
    );
    const reads = [answered(listed), answered(api.raw('GET', '/backups')), answered(api.raw('GET', '/backups/latest'))];
    for (let i = 0; i < 300 && !/waiting/.test(stderr); i++) await new Promise((res) => setTimeout(res, 100));
    await new Promise((res) => setTimeout(res, 500)); // and the API's reads have met the lock too
    released = Date.now();
    await lock.release();
    const [cli, list, one] = await Promise.all(reads);
    for (const r of [cli, list, one]) assert.ok(r.at >= released, 'answered only once the exclusive lock was gone');
    const c = cli.v as { code: number; stdout: string; stderr: string };
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /the repository is locked \(an exclusive lock held by PID 4242 on other-host/);
    assert.equal(JSON.parse(c.stdout).length, 1);
    assert.equal((list.v as { status: number }).status, 200);
    assert.equal((list.v as { body: { count: number } }).body.count, 1);
    assert.equal((one.v as { status: number }).status, 200);

    // a read writes no lock of its own: a read-only token cannot keep a prune out by reading
    const written: string[] = [];
    const watcher = watch(path.join(dir, '.hoard', 'repo', 'locks'), (_e, name) => {
      if (name) written.push(name);
    });
    t.after(() => watcher.close());
    for (let i = 0; i < 3; i++)
      assert.equal((await api.raw('GET', i % 2 ? '/backups/latest' : '/backups')).status, 200);
    assert.equal((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(written, [], 'no lock file was written by a read');
  });

  it('POST /backups/restore takes include, as the CLI and the library do', async (t) => {
    const dir = await tempDir(t, 'hoard-doors-include-');
    await mkdir(path.join(dir, 'uploads'));
    await writeFile(path.join(dir, 'uploads', 'a.txt'), 'a');
    await writeFile(path.join(dir, 'uploads', 'b.txt'), 'b');
    assert.equal(
      (await hoard(['init', '--yes', '--no-backup', '--files', 'uploads'], { cwd: dir, env: CLEAN_ENV })).code,
      0,
    );
    await appendFile(path.join(dir, 'hoard.yaml'), 'restore_targets:\n  scratch: { path: restored }\n');
    assert.equal((await hoard(['backup', 'files'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const { ops } = await addServerSection(dir, [['ops', 'restore,read']]);
    const { base } = await serve(t, dir);
    const api = createClient(base, ops.token);
    const only = '/uploads/a.txt';
    const plan = await api.raw('POST', '/backups/restore', {
      source: 'files',
      latest: true,
      target: 'scratch',
      include: [only],
      dry_run: true,
    });
    assert.equal(plan.status, 200, plan.text);
    assert.equal((plan.body as { files: number }).files, 1, plan.text);
    const started = await api.raw('POST', '/backups/restore', {
      source: 'files',
      latest: true,
      target: 'scratch',
      include: [only],
    });
    assert.equal(started.status, 202, started.text);
    await waitForTask(api, (started.body as { task_id: string }).task_id);
    const restored = path.join(dir, 'restored', 'uploads');
    assert.deepEqual(await readdir(restored), ['a.txt']);
    const bad = await api.raw('POST', '/backups/restore', {
      source: 'files',
      latest: true,
      target: 'scratch',
      include: ['/x\n'],
    });
    assert.equal(bad.status, 400, bad.text);
  });

  it("hoard status gives the scheduler's next run: cron jobs too, each in its job's timezone", async (t) => {
    const dir = await project(t);
    const yaml = path.join(dir, 'hoard.yaml');
    const text = await readFile(yaml, 'utf8');
    assert.match(text, /schedule: "daily at 02:00"/);
    /** The first instant after now at HH:MM UTC (Tokyo is UTC+9 all year: no DST to model). */
    const nextUtc = (h: number, m: number, now: number) => {
      const d = new Date(now);
      d.setUTCHours(h, m, 0, 0);
      return d.getTime() > now ? d.getTime() : d.getTime() + 86_400_000;
    };
    for (const [schedule, utc] of [
      ['daily at 02:00', [17, 0]],
      ['30 4 * * *', [19, 30]],
    ] as const) {
      await writeFile(
        yaml,
        text.replace(/schedule: "daily at 02:00"/, `schedule: "${schedule}"\n    timezone: Asia/Tokyo`),
      );
      const before = Date.now();
      const st = await hoard(['status', '--json'], { cwd: dir, env: CLEAN_ENV });
      assert.ok(st.code === 0 || st.code === 1, st.stderr);
      const next = JSON.parse(st.stdout).sources[0].next_run;
      assert.equal(next, new Date(nextUtc(utc[0], utc[1], before)).toISOString(), schedule);
    }
  });

  it('global flags may come before the command, as restic takes them', async (t) => {
    const dir = await tempDir(t, 'hoard-doors-flags-');
    const repo = path.join(dir, 'repo');
    const env = { ...CLEAN_ENV, HOARD_PASSWORD: 'pw-doors' };
    assert.equal((await hoard(['-r', repo, 'init'], { env })).code, 0);
    await appendFile(path.join(dir, 'f.txt'), 'x');
    assert.equal((await hoard(['--repo', repo, 'backup', path.join(dir, 'f.txt')], { env })).code, 0);
    for (const args of [
      ['-r', repo, 'snapshots', '--json'],
      ['--json', `--repo=${repo}`, 'snapshots'],
      ['--repo', repo, '--json', 'snapshots'],
    ]) {
      const r = await hoard(args, { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).length, 1, args.join(' '));
    }
    const bad = await hoard(['-r', repo, 'snapshotz'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown command snapshotz/);
  });
  it('the library restores inside a program started with node --input-type=module -e', async (t) => {
    const dir = await tempDir(t, 'hoard-doors-eval-');
    await mkdir(path.join(dir, 'uploads'));
    await writeFile(path.join(dir, 'uploads', 'a.txt'), 'from a node -e program');
    assert.equal(
      (await hoard(['init', '--yes', '--no-backup', '--files', 'uploads'], { cwd: dir, env: CLEAN_ENV })).code,
      0,
    );
    assert.equal((await hoard(['backup', 'files'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const lib = pathToFileURL(path.join(ROOT, 'dist', 'src', 'index.js')).href;
    const script = `import { openHoard } from ${JSON.stringify(lib)};
      const h = await openHoard({ cwd: process.cwd() });
      const r = await h.restore({ source: 'files', latest: true, target: 'out' });
      console.log(JSON.stringify({ target: r.target }));`;
    const run = promisify(execFile);
    // --max-old-space-size: a per-process flag Node refuses in a worker's explicit execArgv
    const r = await run(process.execPath, ['--max-old-space-size=2048', '--input-type=module', '-e', script], {
      cwd: dir,
      env: { ...process.env, ...CLEAN_ENV },
    });
    assert.match(r.stdout, /"target":"[^"]*out"/);
    const restored = path.join(dir, 'out', 'uploads', 'a.txt');
    assert.equal(await readFile(restored, 'utf8'), 'from a node -e program');
  });
  it('the library, POST /backups/:id/verify and the CLI all apply verify.min_size from hoard.yaml', async (t) => {
    const dir = await project(t, '\nverify:\n  min_size: 1GB\n');
    assert.equal((await hoard(['backup', 'app'], { cwd: dir, env: CLEAN_ENV })).code, 0);
    const h = await openHoard({ cwd: dir, vars: { ...process.env, ...CLEAN_ENV } });
    const [r] = await h.verify({ latest: true, level: 'quick', record: false });
    assert.equal(r.ok, false);
    assert.match(r.checks.find((c) => c.name === 'size')?.message ?? '', /below the minimum of 1000000000/);
    const cli = await hoard(['verify', '--latest', '--quick', '--no-record', '--json'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(cli.code, 5, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).ok, false);
    const task = await served(t, dir, '/backups/latest/verify', { level: 'quick' });
    assert.equal(task.result?.ok, false, JSON.stringify(task));
  });

  it("a failed after-backup verification fails the backup in every door: exit 5, a failed task, the library's problem", async (t) => {
    const dir = await project(t, '\nverify:\n  after_backup: quick\n  min_size: 1GB\n');
    const cli = await hoard(['backup', 'app'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(cli.code, 5, cli.stderr);
    const h = await openHoard({ cwd: dir, vars: { ...process.env, ...CLEAN_ENV } });
    const r = await h.backup({ sources: ['app'] });
    assert.equal(r.created.length, 1, 'the backup itself stands');
    assert.equal(r.problem?.kind, 'verify');
    assert.match(r.problem?.message ?? '', /failed its quick verification: .*below the minimum/);
    const task = await served(t, dir, '/backups', { source: 'app' });
    assert.equal(task.status, 'failed', JSON.stringify(task));
    assert.match(JSON.stringify(task.error), /verification/);
  });
});
