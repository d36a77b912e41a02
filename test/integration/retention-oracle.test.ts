/**
 * restic is the oracle for the GFS rules: on one repository of snapshots restic made at chosen
 * times, `hoard forget --dry-run` removes exactly what `restic forget --dry-run` removes, for
 * each policy (buckets in UTC for both).
 */
import { describe, it } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { hoard, needRestic, restic, run } from '../helpers/services.js';

const PW = 'oracle';
const POLICIES: string[][] = [
  ['--keep-last', '5'],
  ['--keep-daily', '7'],
  ['--keep-daily', '5', '--keep-weekly', '3', '--keep-monthly', '2'],
  ['--keep-hourly', '10', '--keep-yearly', '1'],
  ['--keep-within', '20d'],
  ['--keep-weekly', '4', '--keep-tag', 'special'],
  ['--keep-last', '2', '--keep-within', '1m'],
];

/** Snapshot times: every 2.3 days with drifting hours, plus twins in the same hour and day. */
function times(): { at: string; tag?: string }[] {
  const start = Date.UTC(2025, 11, 20, 0, 0);
  const out: { at: string; tag?: string }[] = [];
  for (let i = 0; i < 36; i++) {
    const t = start + Math.round(i * 2.3 * 86_400_000) + (i % 5) * 3 * 3_600_000;
    out.push({ at: new Date(t).toISOString(), tag: i === 7 || i === 20 ? 'special' : undefined });
    if (i % 6 === 0) out.push({ at: new Date(t + 25 * 60_000).toISOString() }); // same hour
    if (i % 9 === 0) out.push({ at: new Date(t + 5 * 3_600_000).toISOString() }); // same day, later hour
  }
  return out;
}

const resticTime = (iso: string) => iso.slice(0, 19).replace('T', ' ');

describe('GFS rules agree with restic forget', () => {
  let repo = '';
  let dir = '';
  let made: Promise<void> | undefined;
  /** The repository, made once for all policies. */
  const setup = () =>
    (made ??= (async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-oracle-'));
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      repo = path.join(dir, 'repo');
      assert.equal((await restic(repo, PW, ['init'])).code, 0);
      await writeFile(path.join(dir, 'f.txt'), 'x\n');
      for (const { at, tag } of times()) {
        const r = await run(
          'restic',
          ['-r', repo, 'backup', '--time', resticTime(at), '--host', 'h', ...(tag ? ['--tag', tag] : []), 'f.txt'],
          { cwd: dir, env: { RESTIC_PASSWORD: PW, TZ: 'UTC', RESTIC_CACHE_DIR: path.join(dir, 'cache') } },
        );
        assert.equal(r.code, 0, r.stderr);
      }
    })());

  for (const policy of POLICIES) {
    it(policy.join(' '), async (t) => {
      if (!(await needRestic(t))) return;
      await setup();
      const rf = await run('restic', ['-r', repo, 'forget', '--dry-run', '--json', ...policy], {
        env: { RESTIC_PASSWORD: PW, TZ: 'UTC', RESTIC_CACHE_DIR: path.join(dir, 'cache') },
      });
      assert.equal(rf.code, 0, rf.stderr);
      const groups = JSON.parse(rf.stdout) as { remove: { id: string }[] | null; keep: { id: string }[] }[];
      const want = groups.flatMap((g) => (g.remove ?? []).map((s) => s.id)).sort();
      const h = await hoard(
        ['forget', '--dry-run', '--json', '--group-by', 'host,paths', '--time-zone', 'UTC', ...policy],
        { env: { HOARD_REPOSITORY: repo, HOARD_PASSWORD: PW, HOARD_CONFIG: '' } },
      );
      assert.equal(h.code, 0, h.stderr);
      const plan = JSON.parse(h.stdout) as { decisions: { id: string; remove: boolean; reasons: string[] }[] };
      const got = plan.decisions
        .filter((d) => d.remove)
        .map((d) => d.id)
        .sort();
      assert.ok(want.length > 0, 'the policy removes something');
      assert.deepEqual(got, want);
      for (const d of plan.decisions.filter((x) => !x.remove))
        assert.ok(d.reasons.length > 0, 'every kept snapshot says why');
    });
  }
});
