/**
 * Copies to several destinations (3-2-1) against real servers: a job with `destinations: [local,
 * offsite]` (offsite on the S3 server) copies each new backup, with only missing data moving and
 * restic able to check the copy; `hoard copy --to` catches up what was backed up outside the job;
 * `status` shows each destination's lag; a destination that cannot be reached warns but never fails
 * the local backup, from the CLI and from a scheduled run.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, needRestic, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { type S3Server, startS3 } from '../helpers/remote.js';
import { loadProject } from '../../src/app/project.js';
import { runBackupJob } from '../../src/app/run-job.js';
import { systemClock } from '../../src/app/environment.js';

let server: Promise<S3Server> | undefined;
const s3 = () => (server ??= startS3(['hoard']));
after(async () => {
  if (server) await (await server).stop();
});

type Status = {
  copies: { destination: string; missing: number | null; lag_hours: number | null; error: string | null }[];
  warnings: string[];
};

describe('copies to several destinations', () => {
  it('a job copies each backup to its other destination; hoard copy catches up; status shows the lag; an unreachable one only warns', async (t) => {
    const srv = await s3();
    const dir = await tempDir(t, 'hoard-copy-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const env = { ...CLEAN_ENV, ...srv.env, HOARD_BACKEND_BACKOFF_MS: '10' };
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env })).code, 0);
    const yaml = (await readFile(path.join(dir, 'hoard.yaml'), 'utf8'))
      .replace(
        'repositories:\n',
        `repositories:\n  offsite: { url: "${srv.url(`copy-${path.basename(dir)}`)}", password: "file:.hoard/password" }\n  broken: { url: "s3:http://127.0.0.1:9/hoard/nowhere", password: "file:.hoard/password", connections: 1 }\n`,
      )
      .replace(
        'jobs:\n',
        'jobs:\n  nightly:\n    sources: [app]\n    destinations: [local, offsite]\n  risky:\n    ' +
          'sources: [app]\n    destinations: [local, broken]\n',
      );
    await writeFile(path.join(dir, 'hoard.yaml'), yaml);
    const init = await hoard(['init', '--repo', 'offsite'], { cwd: dir, env });
    assert.equal(init.code, 0, init.stderr);

    const b1 = await hoard(['backup', 'nightly'], { cwd: dir, env });
    assert.equal(b1.code, 0, b1.stderr);
    assert.match(b1.stdout, /copied 1 snapshot\(s\) of job nightly to offsite/);
    const local = JSON.parse((await hoard(['snapshots', '--json'], { cwd: dir, env })).stdout) as { id: string }[];
    const remote = JSON.parse(
      (await hoard(['snapshots', '--json', '--repo', 'offsite'], { cwd: dir, env })).stdout,
    ) as { id: string; original?: string }[];
    assert.equal(remote.length, 1);
    assert.equal(remote[0].original, local[0].id, 'the copy names its original');

    // a second backup of unchanged data moves almost nothing
    const b2 = await hoard(['backup', 'nightly', '--json'], { cwd: dir, env });
    assert.equal(b2.code, 0, b2.stderr);
    const copyLine = b2.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((m) => m.message_type === 'copy');
    assert.equal(copyLine.status, 'success');
    assert.ok(copyLine.bytes_added < 4096, `only the new tree moved: ${copyLine.bytes_added} bytes`);

    // a backup outside the job: the destination lags, status says so, hoard copy catches up
    assert.equal((await hoard(['backup', 'app'], { cwd: dir, env })).code, 0);
    let st = JSON.parse((await hoard(['status', '--json'], { cwd: dir, env })).stdout) as Status;
    const off = st.copies.find((c) => c.destination === 'offsite')!;
    assert.equal(off.missing, 1);
    assert.ok(off.lag_hours !== null && off.lag_hours >= 0);
    assert.ok(
      st.warnings.some((w) => /offsite lacks 1 backup/.test(w)),
      st.warnings.join('\n'),
    );
    assert.ok(st.copies.find((c) => c.destination === 'broken')!.error, 'the unreachable destination is reported');
    const cp = await hoard(['copy', '--to', 'offsite', '--json'], { cwd: dir, env });
    assert.equal(cp.code, 0, cp.stderr);
    const sum = JSON.parse(cp.stdout);
    assert.equal(sum.copied.length, 1);
    assert.equal(sum.skipped.length, 2);
    st = JSON.parse((await hoard(['status', '--json'], { cwd: dir, env })).stdout) as Status;
    assert.equal(st.copies.find((c) => c.destination === 'offsite')!.missing, 0);

    // an unreachable destination: the local backup stands, the copy warns
    const before = local.length + 2;
    const risky = await hoard(['backup', 'risky'], { cwd: dir, env });
    assert.equal(risky.code, 0, risky.stderr);
    assert.match(risky.stderr, /WARNING: the copy of job risky to broken failed \(the backup itself is kept\)/);
    assert.equal(
      (JSON.parse((await hoard(['snapshots', '--json'], { cwd: dir, env })).stdout) as unknown[]).length,
      before + 1,
    );

    // the same from a scheduled run: the outcome succeeds and carries the failed copy
    const p = await loadProject({ vars: { ...process.env, ...env }, clock: systemClock, cwd: dir, isTTY: false });
    const out = await runBackupJob(
      p,
      { vars: { ...process.env, ...env }, clock: systemClock, cwd: dir, isTTY: false },
      'risky',
      {
        trigger: 'schedule',
        isProcessAlive: () => true,
        info: { hostname: 'h', username: 'u', uid: 0, gid: 0, programVersion: 'test' },
      },
    );
    assert.equal(out.result, 'succeeded');
    assert.equal(out.copies?.[0].destination, 'broken');
    assert.equal(out.copies?.[0].ok, false);
    assert.ok(
      out.warnings?.some((w) => /the copy of job risky to broken failed \(the backup itself is kept\)/.test(w)),
      out.warnings?.join('\n'),
    );

    if (!(await needRestic(t))) return;
    const rc = await run('restic', ['-r', srv.url(`copy-${path.basename(dir)}`), '--no-lock', 'check', '--read-data'], {
      env: {
        ...srv.env,
        RESTIC_PASSWORD: (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim(),
        RESTIC_CACHE_DIR: path.join(dir, 'rc'),
      },
    });
    assert.equal(rc.code, 0, rc.stdout + rc.stderr);
  });
});
