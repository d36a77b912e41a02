/**
 * hoard on S3 end to end, against a real S3-protocol server on loopback: `hoard init --repo s3:…`,
 * a backup and a restore through the CLI, restic reading the same bucket with its own s3 backend
 * (snapshots, check --read-data, restore; --no-lock because the server cannot store restic's
 * streaming uploads), and credentials from hoard.yaml and from an AWS profile file.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { hoard, needRestic, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { type S3Server, startFaultProxy, startS3 } from '../helpers/remote.js';

let server: Promise<S3Server> | undefined;
const s3 = () => (server ??= startS3(['hoard']));
after(async () => {
  if (server) await (await server).stop();
});

const PW = 'correct horse battery staple';

describe('s3 end to end', () => {
  it('init, backup and restore through the CLI; restic reads the bucket', async (t) => {
    const srv = await s3();
    const dir = await tempDir(t, 'hoard-s3e2e-');
    const url = srv.url(`e2e-${randomBytes(4).toString('hex')}`);
    const env = { ...CLEAN_ENV, ...srv.env, HOARD_PASSWORD: PW };
    const init = await hoard(['init', '--repo', url], { env });
    assert.equal(init.code, 0, init.stderr);
    assert.doesNotMatch(init.stderr, /Warning/, 'no SDK notices on stderr');
    await mkdir(path.join(dir, 'src', 'sub'), { recursive: true });
    const big = randomBytes(20 << 20); // more than one multipart part
    await writeFile(path.join(dir, 'src', 'big.bin'), big);
    await writeFile(path.join(dir, 'src', 'sub', 'note.txt'), 'hello s3\n');
    const b = await hoard(['backup', '--repo', url, 'src', '--json'], { env, cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const r = await hoard(['restore', 'latest', '--repo', url, '--target', path.join(dir, 'out')], { env, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const restored = path.join(dir, 'out', 'src');
    assert.ok((await readFile(path.join(restored, 'big.bin'))).equals(big));
    assert.equal(await readFile(path.join(restored, 'sub', 'note.txt'), 'utf8'), 'hello s3\n');
    assert.equal((await hoard(['check', '--read-data', '--repo', url], { env })).code, 0);

    if (!(await needRestic(t))) return;
    const renv = { ...srv.env, RESTIC_PASSWORD: PW, RESTIC_CACHE_DIR: path.join(dir, 'restic-cache') };
    const snaps = await run('restic', ['-r', url, '--no-lock', 'snapshots', '--json'], { env: renv });
    assert.equal(snaps.code, 0, snaps.stderr);
    assert.equal((JSON.parse(snaps.stdout) as unknown[]).length, 1);
    const check = await run('restic', ['-r', url, '--no-lock', 'check', '--read-data'], { env: renv });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /no errors were found/);
    const rr = await run(
      'restic',
      ['-r', url, '--no-lock', 'restore', 'latest', '--target', path.join(dir, 'by-restic')],
      { env: renv },
    );
    assert.equal(rr.code, 0, rr.stderr);
    assert.ok((await readFile(path.join(dir, 'by-restic', 'src', 'big.bin'))).equals(big));
  });

  it('credentials from hoard.yaml (secret references), and from an AWS profile file', async (t) => {
    const srv = await s3();
    const dir = await tempDir(t, 'hoard-s3cfg-');
    const url = srv.url(`cfg-${randomBytes(4).toString('hex')}`);
    await writeFile(path.join(dir, 'pw'), PW);
    await writeFile(
      path.join(dir, 'hoard.yaml'),
      `version: 1
repositories:
  offsite:
    url: ${url}
    password: file:pw
    s3: { access_key_id: env:OFFSITE_KEY, secret_access_key: env:OFFSITE_SECRET }
sources:
  notes: { type: files, paths: [notes] }
`,
    );
    await mkdir(path.join(dir, 'notes'));
    await writeFile(path.join(dir, 'notes', 'a.txt'), 'a');
    const env = {
      ...CLEAN_ENV,
      OFFSITE_KEY: srv.env.AWS_ACCESS_KEY_ID,
      OFFSITE_SECRET: srv.env.AWS_SECRET_ACCESS_KEY,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      HOME: dir,
    };
    const init = await hoard(['init', '--repo', url], { env: { ...env, ...srv.env, HOARD_PASSWORD: PW }, cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    const b = await hoard(['backup', 'notes'], { env, cwd: dir });
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const list = JSON.parse((await hoard(['list', '--json'], { env, cwd: dir })).stdout) as { source: string }[];
    assert.deepEqual(
      list.map((x) => x.source),
      ['notes'],
    );
    // without the variables the reference names what is missing
    const missing = await hoard(['list'], { env: { ...env, OFFSITE_KEY: '' }, cwd: dir });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /OFFSITE_KEY/);
    // an AWS profile file, chosen with AWS_PROFILE
    await mkdir(path.join(dir, '.aws'));
    await writeFile(
      path.join(dir, '.aws', 'credentials'),
      `[backup]\naws_access_key_id = ${srv.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${srv.env.AWS_SECRET_ACCESS_KEY}\n`,
    );
    const viaProfile = await hoard(['snapshots', '--repo', url, '--json'], {
      env: {
        ...CLEAN_ENV,
        HOME: dir,
        AWS_PROFILE: 'backup',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        HOARD_PASSWORD: PW,
      },
    });
    assert.equal(viaProfile.code, 0, viaProfile.stderr);
    assert.equal((JSON.parse(viaProfile.stdout) as unknown[]).length, 1);
  });

  it('dropped uploads and SlowDown replies are retried; a destination that drops every pack fails cleanly', async (t) => {
    const srv = await s3();
    const dir = await tempDir(t, 'hoard-s3fault-');
    const prefix = `faults-${randomBytes(4).toString('hex')}`;
    const env = { ...CLEAN_ENV, ...srv.env, HOARD_PASSWORD: PW, HOARD_BACKEND_BACKOFF_MS: '20' };
    assert.equal((await hoard(['init', '--repo', srv.url(prefix)], { env })).code, 0);
    await mkdir(path.join(dir, 'src'));
    const data = randomBytes(40 << 20);
    await writeFile(path.join(dir, 'src', 'big.bin'), data);

    const proxy = await startFaultProxy(srv.endpoint, { dropBigPuts: 3, slowDowns: 4 });
    t.after(() => proxy.close());
    const viaProxy = `s3:${proxy.endpoint}/hoard/${prefix}`;
    const b = await hoard(['backup', '--repo', viaProxy, 'src'], { env, cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(proxy.injected, { drops: 3, slowDowns: 4 }, 'the faults happened');
    const check = await hoard(['check', '--read-data', '--repo', srv.url(prefix)], { env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const r = await hoard(['restore', 'latest', '--repo', srv.url(prefix), '--target', path.join(dir, 'out')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(path.join(dir, 'out', 'src', 'big.bin'))).equals(data));

    // every pack upload dropped: the backup fails, says why, and leaves no snapshot
    await writeFile(path.join(dir, 'src', 'other.bin'), randomBytes(4 << 20));
    const dead = await startFaultProxy(srv.endpoint, { dropAllPutsMatching: '/data/' });
    t.after(() => dead.close());
    const failed = await hoard(['backup', '--repo', `s3:${dead.endpoint}/hoard/${prefix}`, 'src'], { env, cwd: dir });
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /after 5 attempts/);
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace');
    const snaps = JSON.parse(
      (await hoard(['snapshots', '--json', '--repo', srv.url(prefix)], { env })).stdout,
    ) as unknown[];
    assert.equal(snaps.length, 1, 'only the first backup exists');
    const after2 = await hoard(['check', '--repo', srv.url(prefix)], { env });
    assert.equal(
      after2.code,
      0,
      `no index or snapshot points at a pack that is not stored: ${after2.stdout}${after2.stderr}`,
    );
    if (!(await needRestic(t))) return;
    const rc = await run('restic', ['-r', srv.url(prefix), '--no-lock', 'check', '--read-data'], {
      env: { ...srv.env, RESTIC_PASSWORD: PW, RESTIC_CACHE_DIR: path.join(dir, 'rc') },
    });
    assert.equal(rc.code, 0, rc.stdout + rc.stderr);
  });
});
