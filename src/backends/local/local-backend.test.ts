import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { backendConformance } from '../../core/storage/conformance.js';
import { isHoardError } from '../../core/errors.js';
import { createLocalBackend } from './local-backend.js';

const exec = promisify(execFile);
const tmp = () => fsp.mkdtemp(path.join(os.tmpdir(), 'hoard-local-'));

backendConformance('local', async () => {
  const dir = await tmp();
  const root = path.join(dir, 'repo');
  return {
    backend: createLocalBackend(root),
    cleanup: () => fsp.rm(dir, { recursive: true, force: true }),
    plantJunk: async (p) => {
      await fsp.mkdir(path.dirname(path.join(root, p)), { recursive: true });
      await fsp.writeFile(path.join(root, p), 'junk');
    },
  };
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(p)));
  }
  return out;
}

describe('local backend specifics', () => {
  it("uses restic's modes: folders 0700, files 0400, no temp files left", async (t) => {
    const dir = await tmp();
    t.after(() => fsp.rm(dir, { recursive: true, force: true }));
    const b = createLocalBackend(path.join(dir, 'r'));
    await b.create();
    const n = randomBytes(32).toString('hex');
    await b.save({ type: 'data', name: n }, Buffer.from('pack'));
    await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
    assert.equal((await fsp.stat(path.join(dir, 'r', 'data', n.slice(0, 2), n))).mode & 0o777, 0o400);
    assert.equal((await fsp.stat(path.join(dir, 'r', 'config'))).mode & 0o777, 0o400);
    for (const d of ['keys', 'locks', 'snapshots', 'index', 'data', 'data/00', 'data/ff']) {
      assert.equal((await fsp.stat(path.join(dir, 'r', d))).mode & 0o777, 0o700, d);
    }
    assert.deepEqual(
      (await walk(path.join(dir, 'r'))).filter((p) => p.includes('-tmp-')),
      [],
    );
    assert.equal((await fsp.readdir(path.join(dir, 'r', 'data'))).length, 256);
  });

  it("under root, files and folders written into another user's repository are that user's", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root (hoard only changes owners as root)');
      return;
    }
    const dir = await tmp();
    t.after(() => fsp.rm(dir, { recursive: true, force: true }));
    const b = createLocalBackend(path.join(dir, 'r'));
    await b.create();
    await fsp.chown(path.join(dir, 'r'), 65534, 65534);
    const n = randomBytes(32).toString('hex');
    await b.save({ type: 'snapshot', name: n }, Buffer.from('snap'));
    await b.save({ type: 'verification', name: n }, Buffer.from('v'));
    for (const f of [`snapshots/${n}`, 'hoard', 'hoard/verifications', `hoard/verifications/${n}`]) {
      const st = await fsp.stat(path.join(dir, 'r', f));
      assert.deepEqual([st.uid, st.gid], [65534, 65534], f);
    }
  });

  it('a full disk fails with no-space and leaves neither the file nor a temp file', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('mounting a tmpfs needs root');
      return;
    }
    const dir = await tmp();
    try {
      await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    } catch (e) {
      if (process.env.HOARD_TEST_REQUIRE_SERVICES === '1') throw e;
      t.skip(`cannot mount a tmpfs: ${(e as Error).message}`);
      return;
    }
    t.after(async () => {
      await exec('umount', [dir]).catch(() => {});
      await fsp.rm(dir, { recursive: true, force: true });
    });
    const b = createLocalBackend(path.join(dir, 'r'));
    await b.create();
    const n = randomBytes(32).toString('hex');
    await assert.rejects(b.save({ type: 'data', name: n }, randomBytes(2 * 1024 * 1024)), (e) =>
      isHoardError(e, 'no-space'),
    );
    const files = (await walk(path.join(dir, 'r'))).filter(
      (p) => !(p.endsWith('/data') || /\/data\/[0-9a-f]{2}$/.test(p) || /\/(keys|locks|snapshots|index)$/.test(p)),
    );
    assert.deepEqual(files, []);
  });
});
