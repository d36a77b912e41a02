/**
 * The pure parts of point-in-time recovery against what a repository key holder could write:
 * forged WAL names and segment sizes neither crash status nor planning; the recovery settings
 * quote backslashes and percent signs; the tar's own recovery and library settings are disabled;
 * the replayed time is read from the server's log with its microseconds and time zone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { SnapshotEntry } from '../../core/index.js';
import { walCatalog } from './catalog.js';
import { neutralize, quote, recoverySettings } from './recovery-config.js';
import { lastReplayed, planPitr } from './restore.js';
import { statusOf } from './status.js';

const sha = 'a'.repeat(64);
const entry = (id: string, hoard: Record<string, unknown>, timeMs = 1): SnapshotEntry =>
  ({ id, timeMs, snapshot: { time: '', tree: '', paths: [], hostname: 'h', hoard } }) as unknown as SnapshotEntry;
const base = (segSize: unknown) =>
  entry('b'.repeat(64), {
    kind: 'base',
    source: { name: 'pg' },
    base: {
      file: 'base.tar',
      timeline: 1,
      start_lsn: '0/2000028',
      end_lsn: '0/2000100',
      consistent_at: '2026-12-07T10:00:00Z',
      wal_segment_size: segSize,
      server_version: '15.2',
    },
  });
const wal = (names: string[]) =>
  entry('c'.repeat(64), {
    kind: 'wal',
    source: { name: 'pg' },
    wal: { files: names.map((name) => ({ name, size: 16 << 20, sha256: sha, closed_at: '2026-12-07T10:05:00Z' })) },
  });

describe('point-in-time recovery against forged metadata', () => {
  it('a segment name no segment of the size has, and absurd segment sizes, leave status and planning standing', () => {
    const list = [
      base(16 << 20),
      base(2 ** 33),
      base(3 << 20),
      wal(['000000010000000000000002', '0000000100000000000001FF']),
    ];
    const c = walCatalog(list, 'pg');
    assert.equal(c.bases.length, 1, 'only the well-formed base backup counts');
    const s = statusOf('pg', c, Date.parse('2026-12-07T10:06:00Z'), 300_000);
    assert.deepEqual(
      s.timelines.map((t) => t.segments),
      [1],
    );
    assert.equal(planPitr(c, Date.parse('2026-12-07T10:04:00Z')).segments.length, 1);
  });

  it('settings quote backslashes and quotes, restore_command doubles its own percent signs', () => {
    assert.equal(quote("a\\b'c"), "'a\\\\b''c'");
    const text = recoverySettings(
      { command: "node '/x%y/main.js' wal fetch %f %p", target: { name: 'a\\tb' }, toEnd: false, timeline: 1 },
      { hba: '/d/hba', ident: '/d/ident' },
    );
    assert.match(text, /^recovery_target_name = 'a\\\\tb'$/m);
    assert.match(text, /^hba_file = '\/d\/hba'$/m);
  });

  it("the tar's own recovery, archive and library settings are disabled", async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoard-neutralize-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    await fs.writeFile(
      path.join(dir, 'postgresql.auto.conf'),
      "recovery_end_command = 'rm -rf /'\nshared_preload_libraries = './evil.so'\nwork_mem = '8MB'\nrecovery_target_time = '2020-01-01'\n",
    );
    await neutralize(dir);
    const text = await fs.readFile(path.join(dir, 'postgresql.auto.conf'), 'utf8');
    assert.deepEqual(
      text.split('\n').filter((l) => l && !l.startsWith('#')),
      ["work_mem = '8MB'"],
    );
  });

  it('the replayed time comes from the last log line, in UTC, to the microsecond', () => {
    const log =
      'LOG:  last completed transaction was at log time 2026-12-07 15:10:00.05+00\n' +
      'LOG:  last completed transaction was at log time 2026-12-07 16:10:00.050021+01\n';
    assert.equal(lastReplayed(log), '2026-12-07T15:10:00.050021Z');
    assert.equal(lastReplayed('LOG:  redo done'), null);
  });
});
