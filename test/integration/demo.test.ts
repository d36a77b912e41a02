/** The README quick start's main job: `hoard demo` round trip on the bundled sample, files and database. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { stat } from 'node:fs/promises';
import { hoard, needRestic, restic, tempDir } from '../helpers/services.js';

describe('demo', () => {
  it('backs up, checks and restores the sample files and its SQLite database; restic reads the result', async (t) => {
    const dir = await tempDir(t);
    const env = { HOARD_PASSWORD: '', HOARD_PASSWORD_FILE: '', RESTIC_PASSWORD: '' };
    const r = await hoard(['demo', '--dir', path.join(dir, '.hoard')], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const step of ['1. backup', '2. check --read-data', '3. restore', '4. database backup', '5. database restore'])
      assert.match(r.stdout, new RegExp(step.replace('.', '\\.')));
    assert.match(r.stdout, /knex migrations: 2 applied/);
    assert.equal((await stat(path.join(dir, '.hoard', 'password'))).mode & 0o777, 0o600);
    const again = await hoard(['demo', '--dir', path.join(dir, '.hoard')], { env });
    assert.equal(again.code, 0, again.stderr);
    if (!(await needRestic(t))) return;
    const { readFile } = await import('node:fs/promises');
    const pw = (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim();
    const check = await restic(path.join(dir, '.hoard', 'repo'), pw, ['check', '--read-data']);
    assert.equal(check.code, 0, check.stderr);
  });
});
