/**
 * The real scheduler daemon, run for a few seconds in a temporary project: an every-two-seconds
 * job on SQLite and a cleanup both happen; editing the database makes an on-change backup within
 * the debounce; a second daemon refuses, naming the first's pid; a failing job (a wrong database
 * URL) is recorded with its reason and the next run still happens; a hook that hangs is killed
 * after its timeout while the other jobs keep running; bad schedules are config errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { startDaemon } from '../helpers/daemon.js';
import { PG_URL, needPostgres, pgDatabase, pgExec } from '../helpers/databases.js';

async function project(
  t: import('node:test').TestContext,
  yaml: string,
  o: { sources?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const dir = await tempDir(t, 'hoard-sched-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  const init = await hoard(['init', '--yes', '--no-backup', '--schedule', 'weekly on sunday at 03:00'], {
    cwd: dir,
    env: CLEAN_ENV,
  });
  assert.equal(init.code, 0, init.stderr);
  await appendFile(path.join(dir, 'hoard.yaml'), yaml);
  if (o.sources)
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      (await readFile(path.join(dir, 'hoard.yaml'), 'utf8')).replace('sources:\n', `sources:\n${o.sources}`),
    );
  const chk = await hoard(['config', 'check'], { cwd: dir, env: { ...CLEAN_ENV, ...o.env } });
  assert.equal(chk.code, 0, chk.stdout + chk.stderr);
  return dir;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await wait(200)) if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

type Status = {
  running: boolean;
  pid: number | null;
  tasks: { task: string; last: { result: string; error: string | null } | null }[];
  recent: { task: string; result: string; trigger: string; error: string | null; snapshots: string[] }[];
};
const status = async (dir: string): Promise<Status> =>
  JSON.parse((await hoard(['scheduler', 'status', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout);

describe('scheduler daemon', () => {
  it('runs an every-two-seconds job and a cleanup; an edit to SQLite makes an on-change backup; a second daemon refuses', async (t) => {
    const dir = await project(
      t,
      `  fast:
    sources: [app]
    schedule: every 2 seconds
    kind: scheduled
  watch:
    sources: [app]
    on_change: { debounce: 1s, min_interval: 1s }
    kind: on-change
cleanup:
  schedule: every 3 seconds
`,
    );
    const d = startDaemon(dir);
    t.after(() => d.stop());
    await until('two scheduled backups and a cleanup', async () => {
      const s = await status(dir);
      return (
        s.recent.filter((r) => r.task === 'fast' && r.result === 'succeeded').length >= 2 &&
        s.recent.some((r) => r.task === 'cleanup' && r.result === 'succeeded')
      );
    });
    const second = await hoard(['scheduler', 'start'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(second.code, 11, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`a scheduler already runs for this project \\(pid ${d.child.pid} `));
    assert.equal((await status(dir)).pid, d.child.pid);
    const before = Date.now();
    const db = new Database(path.join(dir, 'app.db'));
    db.prepare("UPDATE users SET name = name || '!' WHERE id = 1").run();
    db.close();
    await until('an on-change backup', async () =>
      (await status(dir)).recent.some(
        (r) => r.task === 'watch' && r.trigger === 'on-change' && r.result === 'succeeded',
      ),
    );
    assert.ok(Date.now() - before < 8000, 'within the debounce and the poll');
    const kinds = (
      JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as { kind: string }[]
    ).map((r) => r.kind);
    assert.ok(kinds.filter((k) => k === 'scheduled').length >= 2 && kinds.includes('on-change'), kinds.join(' '));
    assert.equal(await d.stop(), 0);
    assert.match(d.log(), /stopping: running work may finish/);
    assert.match(d.log(), /scheduler stopped/);
    assert.equal((await status(dir)).running, false);
  });

  it('a failing job is recorded with its reason and retried while the other jobs keep running; a hanging hook is killed after its timeout', async (t) => {
    const dir = await project(
      t,
      `  broken:
    sources: [shop]
    schedule: every 2 seconds
  hangs:
    sources: [app]
    schedule: every 2 seconds
    hooks: { before: "sleep 30", timeout: 1s }
  fine:
    sources: [app]
    schedule: every 2 seconds
`,
      {
        sources: '  shop: { type: postgres, url: "env:SHOP_URL" }\n',
        env: { SHOP_URL: 'postgres://127.0.0.1:1/shop' },
      },
    );
    const d = startDaemon(dir, { SHOP_URL: 'postgres://127.0.0.1:1/shop' });
    t.after(() => d.stop());
    await until(
      'failures, a retry and successes',
      async () => {
        const s = await status(dir);
        const broken = s.recent.filter((r) => r.task === 'broken');
        return (
          broken.length >= 2 &&
          broken.some((r) => r.trigger === 'retry') &&
          s.recent.filter((r) => r.task === 'fine' && r.result === 'succeeded').length >= 2 &&
          s.recent.some((r) => r.task === 'hangs' && r.result === 'failed')
        );
      },
      40_000,
    );
    const s = await status(dir);
    const broken = s.recent.find((r) => r.task === 'broken' && r.result !== 'running')!;
    assert.equal(broken.result, 'failed');
    assert.match(broken.error!, /shop: .*(connect|refused|could not)/i);
    const hung = s.recent.find((r) => r.task === 'hangs' && r.result !== 'running')!;
    assert.match(hung.error!, /the before hook timed out and was killed after 1 s: sleep 30/);
    assert.match(d.log(), /broken: FAILED: .*\(retry 1 in 1 s\)/);
    assert.equal(await d.stop(), 0);
  });

  it('PostgreSQL on change: a write to the database makes a backup; reads do not', async (t) => {
    if (!(await needPostgres(t))) return;
    const db = await pgDatabase(t);
    await pgExec(db, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);');
    const url = `${PG_URL}/${db}`;
    const dir = await project(
      t,
      `  pgwatch:
    sources: [pg]
    on_change: { debounce: 1s, min_interval: 1s }
    kind: on-change
`,
      { sources: '  pg: { type: postgres, url: "env:PG_URL" }\n', env: { PG_URL: url } },
    );
    const d = startDaemon(dir, { PG_URL: url, HOARD_SCHEDULER_POLL_MS: '500' });
    t.after(() => d.stop());
    await wait(2500);
    await pgExec(db, 'SELECT count(*) FROM t');
    await wait(2500);
    assert.equal((await status(dir)).recent.filter((r) => r.task === 'pgwatch').length, 0, 'no change, no backup');
    await pgExec(db, 'INSERT INTO t VALUES (2)');
    await until('an on-change backup of PostgreSQL', async () =>
      (await status(dir)).recent.some((r) => r.task === 'pgwatch' && r.result === 'succeeded'),
    );
    assert.equal(await d.stop(), 0);
  });

  it('files on change, hooks with the outcome in their environment, a scheduled read-back, SIGHUP reload', async (t) => {
    const dir = await project(
      t,
      `  docs:
    sources: [files]
    on_change: { debounce: 1s, min_interval: 1s }
    kind: on-change
    hooks: { after: "env | grep '^HOARD_' | sort > hook-env.txt" }
verify:
  read_back: { schedule: every 3 seconds, subset: 100% }
`,
      { sources: '  files: { type: files, paths: [docs] }\n' },
    );
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'docs'));
    const d = startDaemon(dir);
    t.after(() => d.stop());
    await until('the daemon watches', () => /scheduler started/.test(d.log()));
    await wait(300);
    await writeFile(path.join(dir, 'docs', 'a.txt'), 'hello');
    await until('an on-change backup of the folder', async () =>
      (await status(dir)).recent.some((r) => r.task === 'docs' && r.result === 'succeeded'),
    );
    await until('the after hook', async () =>
      (await readFile(path.join(dir, 'hook-env.txt'), 'utf8').catch(() => '')).includes('HOARD_RESULT'),
    );
    const hookEnv = await readFile(path.join(dir, 'hook-env.txt'), 'utf8');
    assert.match(hookEnv, /^HOARD_JOB=docs$/m);
    assert.match(hookEnv, /^HOARD_RESULT=succeeded$/m);
    assert.match(hookEnv, /^HOARD_TRIGGER=on-change$/m);
    assert.match(hookEnv, /^HOARD_SNAPSHOT_IDS=[0-9a-f]{64}$/m);
    assert.doesNotMatch(hookEnv, /PASSWORD/, 'hooks never see the repository password');
    await until('a scheduled read-back', async () =>
      (await status(dir)).recent.some((r) => r.task === 'verify:read-back' && r.result === 'succeeded'),
    );
    const list = JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as {
      source: string;
      verification: { level: string } | null;
    }[];
    assert.equal(list.find((r) => r.source === 'files')?.verification?.level, 'read-back');
    const yaml = await readFile(path.join(dir, 'hoard.yaml'), 'utf8');
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      yaml.replace(
        'read_back: { schedule: every 3 seconds, subset: 100% }',
        'read_back: { schedule: every 4 seconds, subset: 50% }',
      ),
    );
    d.child.kill('SIGHUP');
    await until('the reload', () => /reloaded .*hoard\.yaml \((SIGHUP|the file changed)\)/.test(d.log()));
    assert.equal(await d.stop(), 0);
  });

  it('bad schedules are configuration errors naming the line', async (t) => {
    const dir = await tempDir(t, 'hoard-sched-bad-');
    for (const [sched, re] of [
      ['61 * * * *', /the minute field "61" is not valid/],
      ['CRON_TZ=Mars/Olympus 0 2 * * *', /unknown time zone Mars\/Olympus/],
    ] as [string, RegExp][]) {
      await writeFile(
        path.join(dir, 'hoard.yaml'),
        `sources:\n  app: { type: sqlite, path: app.db }\njobs:\n  j:\n    sources: [app]\n    schedule: "${sched}"\n`,
      );
      const r = await hoard(['scheduler', 'start'], { cwd: dir, env: CLEAN_ENV });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /hoard\.yaml:6: jobs\.j\.schedule: /);
      assert.match(r.stderr, re);
    }
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      'sources:\n  app: { type: sqlite, path: app.db }\njobs:\n  j:\n    sources: [app]\n    schedule: ' +
        'daily at 02:00\n    timezone: Mars/Olympus\n',
    );
    const tz = await hoard(['scheduler', 'status'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(tz.code, 1);
    assert.match(tz.stderr, /hoard\.yaml:7: jobs\.j\.timezone: unknown time zone/);
  });

  it('--detach runs in the background; an edit to hoard.yaml is picked up; a bad edit keeps the old config; stop ends it', async (t) => {
    const dir = await project(
      t,
      `  fast:
    sources: [app]
    schedule: every 1 seconds
`,
    );
    const r = await hoard(['scheduler', 'start', '--detach'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(/pid (\d+)/.exec(r.stdout)![1]);
    t.after(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    await until('the detached daemon runs', async () => (await status(dir)).running && (await status(dir)).pid === pid);
    const yaml = await readFile(path.join(dir, 'hoard.yaml'), 'utf8');
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      `${yaml}  added:\n    sources: [app]\n    schedule: every 1 seconds\n`,
    );
    await until('the added job runs', async () =>
      (await status(dir)).recent.some((x) => x.task === 'added' && x.result === 'succeeded'),
    );
    await writeFile(path.join(dir, 'hoard.yaml'), `${yaml}  broken: [\n`);
    const log = () => readFile(path.join(dir, '.hoard', 'scheduler.log'), 'utf8');
    await until('the bad edit is reported', async () =>
      /could not be reloaded \(the file changed\); keeping the previous one/.test(await log()),
    );
    const runs = async () => ((await log()).match(/fast: succeeded/g) ?? []).length;
    const before = await runs();
    await wait(2000);
    assert.ok((await runs()) > before, 'the old configuration keeps running');
    await writeFile(path.join(dir, 'hoard.yaml'), yaml);
    const stop = await hoard(['scheduler', 'stop'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`scheduler stopped \\(pid ${pid}\\)`));
    assert.equal((await status(dir)).running, false);
    assert.match(await log(), /scheduler stopped/);
  });

  it('SIGTERM once lets running work finish; twice aborts it, recorded as interrupted, with no partial snapshot', async (t) => {
    const dir = await project(
      t,
      `  slow:
    sources: [app]
    schedule: every 1 seconds
    hooks: { before: "sleep 30" }
`,
    );
    const d = startDaemon(dir);
    t.after(() => d.stop());
    await until('the slow job runs', () => /slow: started/.test(d.log()));
    const snapshotsBefore = (
      JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as unknown[]
    ).length;
    d.child.kill('SIGTERM');
    await wait(500);
    assert.equal(d.child.exitCode, null, 'the first SIGTERM waits for the running job');
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    await new Promise((r) => d.child.on('exit', r));
    assert.ok(Date.now() - t0 < 5000, 'the second SIGTERM aborts at once');
    assert.match(d.log(), /aborting running work/);
    assert.match(d.log(), /slow: interrupted/);
    const s = await status(dir);
    assert.equal(s.recent.find((r) => r.task === 'slow')!.result, 'interrupted');
    assert.equal(
      (JSON.parse((await hoard(['list', '--json'], { cwd: dir, env: CLEAN_ENV })).stdout) as unknown[]).length,
      snapshotsBefore,
      'no snapshot from the aborted run',
    );
  });

  it("a hook sees HOARD_JOB and the rest of the environment, but no variable hoard.yaml reads a secret from, nor the tools' password variables", async (t) => {
    const secrets = {
      OFFSITE_PW: 'v1',
      MY_S3_KEY_ID: 'v2',
      MY_S3_SECRET: 'v3',
      SFTP_PW: 'v4',
      SHOP_URL: 'postgres://u:v5@127.0.0.1:1/shop',
      HOOK_URL: 'http://127.0.0.1:1/v6',
    };
    const tools = {
      PGPASSWORD: 'v7',
      MYSQL_PWD: 'v8',
      AWS_SECRET_ACCESS_KEY: 'v9',
      AWS_SESSION_TOKEN: 'v10',
      HOARD_PASSWORD_COMMAND: 'cat .hoard/password',
    };
    const env = { ...secrets, ...tools, KEEP_ME: 'kept' };
    const dir = await project(
      t,
      `  hooked:
    sources: [app]
    schedule: every 2 seconds
    hooks: { before: "env | sort > hook-env.txt" }
notifications:
  - { type: webhook, url: "env:HOOK_URL", on: [verify.failed] }
`,
      { env, sources: '  shop: { type: postgres, url: "env:SHOP_URL" }\n' },
    );
    const file = path.join(dir, 'hoard.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(
        'repositories:\n',
        `repositories:
  offsite: { url: offsite-repo, password: "env:OFFSITE_PW", s3: { access_key_id: "env:MY_S3_KEY_ID", secret_access_key: "env:MY_S3_SECRET" } }
  remote: { url: "sftp:u@127.0.0.1:/srv/repo", sftp: { password: "env:SFTP_PW" } }
`,
      ),
    );
    const d = startDaemon(dir, env);
    t.after(() => d.stop());
    await until('the before hook', async () =>
      (await readFile(path.join(dir, 'hook-env.txt'), 'utf8').catch(() => '')).includes('HOARD_RESULT'),
    );
    assert.equal(await d.stop(), 0);
    const hookEnv = await readFile(path.join(dir, 'hook-env.txt'), 'utf8');
    assert.match(hookEnv, /^HOARD_JOB=hooked$/m);
    assert.match(hookEnv, /^HOARD_TRIGGER=(schedule|catch-up)$/m);
    assert.match(hookEnv, /^HOARD_RESULT=pending$/m);
    assert.match(hookEnv, /^KEEP_ME=kept$/m, 'other variables are passed on');
    for (const name of [...Object.keys(secrets), ...Object.keys(tools)])
      assert.doesNotMatch(hookEnv, new RegExp(`^${name}=`, 'm'), `${name} reached the hook`);
    for (const value of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'])
      assert.doesNotMatch(hookEnv, new RegExp(`=${value}$|:${value}@|/${value}$`, 'm'));
  });

  it('install-service writes a systemd unit with the right paths (each word of ExecStart quoted)', async (t) => {
    const dir = await project(t, '');
    const r = await hoard(['scheduler', 'install-service', '--systemd'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 0, r.stderr);
    const unit = await readFile(path.join(dir, '.hoard', `hoard-${path.basename(dir)}.service`), 'utf8');
    assert.ok(unit.includes(`\nWorkingDirectory=${dir}\n`), unit);
    assert.ok(
      unit.includes(
        `\nExecStart="${process.execPath}" "${CLI}" "scheduler" "start" "--config" "${path.join(dir, 'hoard.yaml')}"\n`,
      ),
      unit,
    );
    assert.match(unit, /ExecReload=\/bin\/kill -HUP \$MAINPID/);
  });
});
