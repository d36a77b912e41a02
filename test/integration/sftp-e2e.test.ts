/**
 * hoard on SFTP end to end, against a real SSH server on loopback whose SFTP is OpenSSH's
 * sftp-server: `hoard init --repo sftp://…` with the key and known_hosts in ~/.ssh, a backup and a
 * restore through the CLI, restic reading the repository with its own sftp backend (restic runs
 * sftp-server itself: -o sftp.command), a project whose hoard.yaml names the key and known_hosts,
 * and connections dropped in the middle of uploads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { hoard, needRestic, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { startSsh } from '../helpers/remote.js';
import { SFTP_SERVER } from '../helpers/ssh-server.js';

const PW = 'correct horse battery staple';

describe('sftp end to end', () => {
  it('init, backup and restore through the CLI with ~/.ssh; restic reads the repository', async (t) => {
    const s = await startSsh();
    t.after(() => s.stop());
    const dir = await tempDir(t, 'hoard-sftpe2e-');
    await mkdir(path.join(dir, '.ssh'));
    await copyFile(s.keyFile, path.join(dir, '.ssh', 'id_ed25519'));
    await copyFile(s.knownHostsFile, path.join(dir, '.ssh', 'known_hosts'));
    const env = { ...CLEAN_ENV, HOME: dir, SSH_AUTH_SOCK: '', HOARD_PASSWORD: PW };
    const url = s.url('repo');
    const init = await hoard(['init', '--repo', url], { env });
    assert.equal(init.code, 0, init.stderr);
    await mkdir(path.join(dir, 'src'));
    const big = randomBytes(24 << 20);
    await writeFile(path.join(dir, 'src', 'big.bin'), big);
    await writeFile(path.join(dir, 'src', 'name with spaces.txt'), 'over ssh\n');
    const b = await hoard(['backup', '--repo', url, 'src'], { env, cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const r = await hoard(['restore', 'latest', '--repo', url, '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(path.join(dir, 'out', 'src', 'big.bin'))).equals(big));
    assert.equal(await readFile(path.join(dir, 'out', 'src', 'name with spaces.txt'), 'utf8'), 'over ssh\n');
    assert.equal((await hoard(['check', '--read-data', '--repo', url], { env })).code, 0);

    if (!(await needRestic(t))) return;
    // restic's sftp backend, speaking to the same sftp-server program (started by restic itself)
    const repoPath = path.join(s.home, 'repo');
    const renv = { RESTIC_PASSWORD: PW, RESTIC_CACHE_DIR: path.join(dir, 'rc'), HOME: s.home };
    const rargs = ['-o', `sftp.command=${SFTP_SERVER}`, '-r', `sftp:localhost:${repoPath}`];
    const check = await run('restic', [...rargs, 'check', '--read-data'], { env: renv });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const rr = await run('restic', [...rargs, 'restore', 'latest', '--target', path.join(dir, 'by-restic')], {
      env: renv,
    });
    assert.equal(rr.code, 0, rr.stderr);
    assert.ok((await readFile(path.join(dir, 'by-restic', 'src', 'big.bin'))).equals(big));
    // and hoard reads what restic writes there
    const rb = await run('restic', [...rargs, 'backup', path.join(dir, 'src')], { env: renv });
    assert.equal(rb.code, 0, rb.stderr);
    const snaps = JSON.parse((await hoard(['snapshots', '--json', '--repo', url], { env })).stdout) as unknown[];
    assert.equal(snaps.length, 2);
    assert.equal((await hoard(['check', '--read-data', '--repo', url], { env })).code, 0);
  });

  it('a project with the key, password and known_hosts in hoard.yaml; dropped connections are retried', async (t) => {
    const s = await startSsh({ drops: 2, dropAfterBytes: 4 << 20 });
    t.after(() => s.stop());
    const dir = await tempDir(t, 'hoard-sftpcfg-');
    await copyFile(s.keyFile, path.join(dir, 'backup_key'));
    await copyFile(s.knownHostsFile, path.join(dir, 'known_hosts'));
    await writeFile(path.join(dir, 'pw'), PW);
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      `version: 1
repositories:
  offsite:
    url: ${s.url('project-repo')}
    password: file:pw
    sftp: { key: backup_key, known_hosts: known_hosts }
sources:
  files: { type: files, paths: [data] }
`,
    );
    await mkdir(path.join(dir, 'data'));
    const data = randomBytes(20 << 20);
    await writeFile(path.join(dir, 'data', 'blob.bin'), data);
    const env = { ...CLEAN_ENV, HOME: path.join(dir, 'nowhere'), SSH_AUTH_SOCK: '', HOARD_BACKEND_BACKOFF_MS: '20' };
    const init = await hoard(['init', '--repo', 'offsite'], { env: { ...env, HOARD_PASSWORD: PW }, cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    const b = await hoard(['backup', 'files'], { env, cwd: dir });
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.equal(s.drops(), 2, 'two connections were cut mid-upload');
    const check = await hoard(['check', '--read-data'], { env, cwd: dir });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const r = await hoard(['restore', '--latest', '--source', 'files', '--target', path.join(dir, 'out'), '--yes'], {
      env,
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok((await readFile(path.join(dir, 'out', 'data', 'blob.bin'))).equals(data));
  });
});
