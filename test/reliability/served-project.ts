/** A temporary project (the bundled sample SQLite database, one backup) served by `hoard serve`, with an admin token. */
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';

export async function servedProject(
  t: Pick<TestContext, 'after'>,
): Promise<{ dir: string; base: string; token: string }> {
  const dir = await tempDir(t as TestContext, 'hoard-fuzz-api-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  const init = await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV });
  assert.equal(init.code, 0, init.stderr);
  const { ops } = await addServerSection(dir, [['ops', 'admin']], '  max_failures_per_minute: 10000\n');
  const { base } = await serve(t as TestContext, dir);
  return { dir, base, token: ops.token };
}
