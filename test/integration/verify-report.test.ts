/**
 * `hoard verify report`: every recorded verification of a period, checked field by field over a
 * repository with passing and failing drills; the same report from a second machine that has only
 * the repository and its password (no hoard.yaml); Markdown and HTML forms escape what a record
 * holds and name no secret.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import type { ReportRow } from '../../src/app/verify-report.js';

type Row = ReportRow;

describe('hoard verify report', () => {
  it('lists every verification with its backup, trigger, level, checks, duration and outcome; the same from another machine', async (t) => {
    const dir = await tempDir(t, 'hoard-report-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const run = (args: string[], cwd = dir, env: NodeJS.ProcessEnv = CLEAN_ENV) => hoard(args, { cwd, env });
    assert.equal((await run(['init', '--yes'])).code, 0);
    const id = JSON.parse((await run(['list', '--json'])).stdout)[0].id as string;
    const secret = "SELECT 'postgres://u:s3cret@db.example/x <b> [verify here](https://evil.example) `x`' = 'no'";
    assert.equal((await run(['verify', '--latest', '--quick'])).code, 0);
    assert.equal((await run(['verify', '--latest', '--drill', '--sql', secret])).code, 5);
    assert.equal((await run(['verify', '--latest', '--drill'])).code, 0);
    assert.equal((await run(['verify', '--latest'])).code, 0);

    const r = await run(['verify', 'report', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const rows = report.verifications as Row[];
    assert.deepEqual(
      rows.map((x) => [x.level, x.ok]),
      [
        ['quick', true],
        ['drill', false],
        ['drill', true],
        ['read-back', true],
      ],
    );
    for (const x of rows) {
      assert.equal(x.snapshot, id);
      assert.equal(x.short_id, id.slice(0, 8));
      assert.equal(x.source, 'app');
      assert.equal(x.trigger, 'manual');
      assert.match(x.backup_time ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.ok(Date.parse(x.at) >= Date.parse(x.backup_time!));
      assert.equal(typeof x.duration_ms, 'number');
      assert.ok(x.checks > 0 && x.checks_passed <= x.checks);
      assert.match(x.program_version, /hoard/);
      assert.equal(x.restore_ms === null, x.level !== 'drill', 'drills, and only drills, record their restore time');
    }
    assert.equal(rows[1].checks_passed, rows[1].checks - 1, 'one check of the failed drill failed');
    assert.match(rows[1].message, /returned 0/);
    assert.ok(!r.stdout.includes('s3cret'), 'the report redacts a password in a message');
    assert.deepEqual(report.summary, {
      total: 4,
      passed: 3,
      failed: 1,
      by_level: {
        quick: { passed: 1, failed: 0 },
        drill: { passed: 1, failed: 1 },
        'read-back': { passed: 1, failed: 0 },
      },
    });

    // a second machine: only the repository and its password, no hoard.yaml
    const other = await tempDir(t, 'hoard-report-other-');
    const password = (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim();
    const there = await run(['verify', 'report', '--json'], other, {
      ...CLEAN_ENV,
      HOARD_REPOSITORY: path.join(dir, '.hoard', 'repo'),
      HOARD_PASSWORD: password,
    });
    assert.equal(there.code, 0, there.stderr);
    const theirs = JSON.parse(there.stdout);
    assert.deepEqual(theirs.verifications, report.verifications);
    assert.deepEqual(theirs.summary, report.summary);

    assert.equal(JSON.parse((await run(['verify', 'report', '--json', '--source', 'nope'])).stdout).summary.total, 0);
    const md = (await run(['verify', 'report', '--since', '1d'])).stdout;
    assert.match(md, /^# hoard verification report/);
    assert.equal(md.split('\n').filter((l) => l.startsWith(`| 20`)).length, 4);
    assert.match(md, /\| drill \| manual \| \d+\/\d+ \| [\d.]+ s \| [\d.]+ s \| FAILED \|/);
    assert.ok(!md.includes('<b>') && !md.includes('](https://evil') && !md.includes(' `x`'), 'no markup gets through');
    assert.match(md, /&lt;b&gt; \\\[verify here\\\]\\\(https:\/\/evil\.example\\\)/);
    const html = (await run(['verify', 'report', '--format', 'html'])).stdout;
    assert.match(html, /&lt;b&gt;/);
    assert.ok(!html.includes('<b>') && !html.includes('s3cret'));
    const bad = await run(['verify', 'report', '--since', 'yesterday']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /--since must be a duration such as 90d/);
  });
});
