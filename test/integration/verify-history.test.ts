/**
 * A verification history that never hides a failure: a failed drill followed by a passing
 * read-back still shows as a failed drill in list, info, status --json, GET /status and /metrics,
 * until a newer drill passes; and a files source records its backup's duration like a database.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { addServerSection, serve } from '../helpers/api.js';

type View = { level: string; ok: boolean; at: string; message?: string };
type Metric = { name: string; metrics: { value: string; labels?: Record<string, string> }[] };
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (t: string) => Metric[];

async function project(t: import('node:test').TestContext, extraSources = ''): Promise<string> {
  const dir = await tempDir(t, 'hoard-history-');
  await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
  const r = await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV });
  assert.equal(r.code, 0, r.stderr);
  if (extraSources) {
    const file = path.join(dir, 'hoard.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('sources:\n', `sources:\n${extraSources}`));
  }
  return dir;
}

const run = (dir: string, args: string[]) => hoard(args, { cwd: dir, env: CLEAN_ENV });
const json = async (dir: string, args: string[]) => {
  const r = await run(dir, [...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

describe('verification history', () => {
  it('a failed drill stays visible after a passing read-back, everywhere, until a newer drill passes', async (t) => {
    const dir = await project(t);
    const tokens = await addServerSection(dir, [['reader', 'read']]);
    const failed = await run(dir, ['verify', '--latest', '--drill', '--sql', 'SELECT 0']);
    assert.equal(failed.code, 5, failed.stdout + failed.stderr);
    assert.equal((await run(dir, ['verify', '--latest'])).code, 0, 'the read-back passes');

    const [b] = (await json(dir, ['list'])) as {
      id: string;
      verification: View;
      verification_levels: Record<string, View>;
    }[];
    assert.equal(b.verification.level, 'drill');
    assert.equal(b.verification.ok, false);
    assert.match(b.verification.message ?? '', /SELECT 0 returned 0/);
    assert.equal(b.verification_levels['read-back'].ok, true);
    assert.equal(b.verification_levels.drill.ok, false);
    assert.match((await run(dir, ['list'])).stdout, /FAILED drill \d+ s ago: SELECT 0 returned 0/);
    const info = await run(dir, ['info', b.id]);
    assert.match(info.stdout, /status +FAILED drill/);
    assert.match(info.stdout, /levels +read-back ok .*, drill FAILED/);
    assert.equal((await json(dir, ['info', b.id])).verification.ok, false);

    const status = (await json(dir, ['status'])).sources[0];
    assert.deepEqual([status.last_verification.level, status.last_verification.ok], ['drill', false]);
    assert.deepEqual(
      status.failed_verifications.map((v: View) => v.level),
      ['drill'],
    );
    assert.ok(
      status.warnings.some((w: string) => /last drill FAILED/.test(w)),
      status.warnings.join('\n'),
    );

    const { base } = await serve(t, dir);
    const get = async (p: string) => {
      const r = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${tokens.reader.token}` } });
      assert.equal(r.status, 200);
      return r.text();
    };
    const api = JSON.parse(await get('/status')).sources[0];
    assert.deepEqual([api.last_verification.level, api.last_verification.ok], ['drill', false]);
    const okByLevel = async () =>
      Object.fromEntries(
        parsePrometheus(await get('/metrics'))
          .find((m) => m.name === 'hoard_verification_ok')!
          .metrics.map((m) => [m.labels!.level, m.value]),
      );
    assert.deepEqual(await okByLevel(), { 'read-back': '1', drill: '0' });

    // a newer drill that passes clears it
    assert.equal((await run(dir, ['verify', '--latest', '--drill'])).code, 0);
    const [again] = await json(dir, ['list']);
    assert.deepEqual([again.verification.level, again.verification.ok], ['drill', true]);
    assert.deepEqual((await json(dir, ['status'])).sources[0].failed_verifications, []);
    assert.deepEqual(await okByLevel(), { 'read-back': '1', drill: '1' });
  });

  it('a files source records how long its backup took, like a database', async (t) => {
    const dir = await project(t, '  docs: { type: files, paths: [notes] }\n');
    await writeFile(path.join(dir, 'notes'), 'some notes\n');
    assert.equal((await run(dir, ['backup', 'docs'])).code, 0);
    const [b] = await json(dir, ['list', '--source', 'docs']);
    assert.equal(typeof b.duration_ms, 'number');
    const docs = (await json(dir, ['status'])).sources.find((s: { source: string }) => s.source === 'docs');
    assert.equal(docs.last_backup.duration_ms, b.duration_ms);
  });
});
