/** Passwords (key files), password sources and lock cleanup, through the CLI and checked with restic. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLocalBackend } from '../../src/backends/local/local-backend.js';
import { openRepository } from '../../src/core/repository/open.js';
import { acquireLock } from '../../src/core/repository/locks.js';
import { hoard, needRestic, restic, tempDir } from '../helpers/services.js';

describe('keys', () => {
  it('add, list, passwd and remove keys; restic accepts the new password', async (t) => {
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repo, HOARD_PASSWORD: 'old-pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const add = await hoard(['key', 'add', '--json'], { env: { ...env, HOARD_NEW_PASSWORD: 'second-pw' } });
    assert.equal(add.code, 0, add.stderr);
    const added = JSON.parse(add.stdout).added as string;
    const keys = JSON.parse((await hoard(['key', 'list', '--json'], { env })).stdout);
    assert.equal(keys.length, 2);
    assert.equal(keys.filter((k: { current: boolean }) => k.current).length, 1);
    assert.equal((await hoard(['snapshots'], { env: { ...env, HOARD_PASSWORD: 'second-pw' } })).code, 0);
    if (await needRestic(t)) assert.equal((await restic(repo, 'second-pw', ['snapshots'])).code, 0);
    const self = await hoard(['key', 'remove', keys.find((k: { current: boolean }) => k.current).id.slice(0, 8)], {
      env,
    });
    assert.equal(self.code, 1);
    assert.match(self.stderr, /refusing to remove the key in use/);
    assert.equal((await hoard(['key', 'remove', added.slice(0, 10)], { env })).code, 0);
    assert.equal((await hoard(['snapshots'], { env: { ...env, HOARD_PASSWORD: 'second-pw' } })).code, 12);
    const pw = await hoard(['key', 'passwd'], { env: { ...env, HOARD_NEW_PASSWORD: 'new-pw' } });
    assert.equal(pw.code, 0, pw.stderr);
    assert.equal((await hoard(['snapshots'], { env })).code, 12, 'the old password no longer opens it');
    assert.equal((await hoard(['snapshots'], { env: { ...env, HOARD_PASSWORD: 'new-pw' } })).code, 0);
  });

  it('reads the password from a file or a command, never needing argv', async (t) => {
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    await fsp.writeFile(path.join(dir, 'pw'), 'file-pw\n', { mode: 0o600 });
    assert.equal(
      (await hoard(['init'], { env: { HOARD_REPOSITORY: repo, HOARD_PASSWORD_FILE: path.join(dir, 'pw') } })).code,
      0,
    );
    const viaCmd = await hoard(['snapshots'], {
      env: { HOARD_REPOSITORY: repo, HOARD_PASSWORD_COMMAND: `cat ${path.join(dir, 'pw')}` },
    });
    assert.equal(viaCmd.code, 0, viaCmd.stderr);
    const viaRestic = await hoard(['snapshots'], { env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'file-pw' } });
    assert.equal(viaRestic.code, 0, viaRestic.stderr);
    const missing = await hoard(['snapshots'], {
      env: { HOARD_REPOSITORY: repo, HOARD_PASSWORD_FILE: path.join(dir, 'nope') },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the password file/);
  });
});

describe('unlock', () => {
  it('removes stale locks (dead process on this host), keeps live ones unless --remove-all', async (t) => {
    const dir = await tempDir(t);
    const repoPath = path.join(dir, 'repo');
    const env = { HOARD_REPOSITORY: repoPath, HOARD_PASSWORD: 'pw' };
    assert.equal((await hoard(['init'], { env })).code, 0);
    const repo = await openRepository(createLocalBackend(repoPath), 'pw');
    const clock = { now: () => Date.now() };
    await acquireLock(repo, false, {
      clock,
      settleMs: 1,
      owner: { hostname: os.hostname(), username: 'x', pid: 2 ** 22 + 12345, isProcessAlive: () => false },
    });
    const live = await acquireLock(repo, false, {
      clock,
      settleMs: 1,
      owner: { hostname: os.hostname(), username: 'x', pid: process.pid, isProcessAlive: () => true },
    });
    t.after(() => live.release());
    const u = await hoard(['unlock', '--json'], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.equal(JSON.parse(u.stdout).removed.length, 1);
    assert.equal((await fsp.readdir(path.join(repoPath, 'locks'))).length, 1);
    const all = await hoard(['unlock', '--remove-all', '--json'], { env });
    assert.equal(JSON.parse(all.stdout).removed.length, 1);
    assert.deepEqual(await fsp.readdir(path.join(repoPath, 'locks')), []);
  });
});
