/**
 * Golden files for the retention engine: rules × kinds × environments × pins × time zones. Each
 * case's decisions and reasons are compared with test/golden/retention.golden.json (reviewed by
 * hand when it changes). HOARD_UPDATE_GOLDEN=1 rewrites the file instead of comparing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SnapshotEntry } from '../../src/core/index.js';
import { type CleanupRequest, planCleanup } from '../../src/app/cleanup.js';
import { retentionFor } from '../../src/app/source-backup.js';
import type { Project } from '../../src/app/project.js';
import { parseConfig } from '../../src/config/parse.js';
import { resolveSettings } from '../../src/config/index.js';
import { ROOT } from '../helpers/services.js';

const FILE = path.join(ROOT, 'test', 'golden', 'retention.golden.json');
const NOW = Date.UTC(2026, 10, 23, 12, 0); // Monday 23 November 2026, 12:00 UTC
const H = 3_600_000,
  D = 24 * H;

function project(yaml = ''): Project {
  const loaded = yaml ? parseConfig(yaml, 'hoard.yaml') : undefined;
  return {
    loaded,
    dir: '/p',
    config: loaded?.config ?? {},
    settings: resolveSettings({ flags: {}, vars: {}, loaded }),
    scope: { vars: {}, dotenv: {}, dir: '/p' },
  };
}

interface Snap {
  name: string;
  ago: number;
  kind?: string;
  env?: string;
  source?: string;
  pinned?: boolean;
  verified?: boolean;
  /** Days ago `hoard confirm` was run on it. */
  confirmed?: number;
  ticket?: string;
  tags?: string[];
  retention?: number;
}

/** Snapshots as hoard writes them: expiry from the same rules a backup applies (retentionFor). */
function snaps(p: Project, list: Snap[]): SnapshotEntry[] {
  return list.map((s, i) => {
    const timeMs = NOW - s.ago;
    const kind = s.kind ?? 'daily';
    const r = retentionFor(p, kind, s.env, undefined, s.retention);
    const id = `${String(i).padStart(2, '0')}${s.name}`.padEnd(64, '0').replace(/[^0-9a-f]/g, 'f');
    return {
      id,
      timeMs,
      snapshot: {
        time: new Date(timeMs).toISOString(),
        tree: 't',
        paths: ['/x'],
        hostname: 'h',
        tags: s.tags ?? [],
        hoard: {
          kind,
          environment: s.env ?? null,
          source: { name: s.source ?? 'db', type: 'postgres' },
          pinned: s.pinned === true,
          retention_days: r.days,
          retention_from: r.from,
          expires_at: r.days === null ? null : new Date(timeMs + r.days * D).toISOString(),
          ...(s.ticket ? { ticket: s.ticket } : {}),
          ...(s.confirmed !== undefined
            ? { confirmation: { by: 'ana', at: new Date(NOW - s.confirmed).toISOString(), note: null } }
            : {}),
          verification:
            s.verified === undefined
              ? null
              : { level: 'drill', ok: s.verified, at: new Date(timeMs + H).toISOString() },
        },
      },
    };
  });
}

/** Daily snapshots at 02:00 UTC for n days back from yesterday. */
const daily = (n: number, extra: Partial<Snap> = {}): Snap[] =>
  Array.from({ length: n }, (_, i) => ({ name: `d${i}`, ago: (i + 1) * D - 10 * H, ...extra }));

interface Case {
  name: string;
  yaml?: string;
  snaps: Snap[];
  req: CleanupRequest;
}

const CASES: Case[] = [
  { name: 'daily kind default: 7 days, then expired (floor keeps the newest)', snaps: daily(10), req: {} },
  {
    name: 'daily in production: kind default beats the environment default',
    snaps: daily(10, { env: 'production' }),
    req: {},
  },
  {
    name: 'scheduled kind: environment defaults dev 30 / staging 60 / production 90',
    snaps: [
      { name: 'dev45', ago: 45 * D, kind: 'scheduled', env: 'dev' },
      { name: 'stg45', ago: 45 * D, kind: 'scheduled', env: 'staging' },
      { name: 'prd45', ago: 45 * D, kind: 'scheduled', env: 'production' },
      { name: 'prd95', ago: 95 * D, kind: 'scheduled', env: 'production' },
      { name: 'new', ago: H, kind: 'scheduled', env: 'dev' },
    ],
    req: {},
  },
  {
    name: 'hoard.yaml rules: daily 3 days, weekly forever, production 120 days',
    yaml: 'retention:\n  daily: { days: 3 }\n  weekly: forever\nenvironments:\n  production: { retention_days: 120 }\n',
    snaps: [
      { name: 'd5', ago: 5 * D },
      { name: 'd2', ago: 2 * D },
      { name: 'w400', ago: 400 * D, kind: 'weekly' },
      { name: 's100', ago: 100 * D, kind: 'scheduled', env: 'production' },
      { name: 'new', ago: H },
    ],
    req: {},
  },
  {
    name: 'kinds: manual never, pre-migration and ticketed kept until confirmed, pre-restore by environment',
    snaps: [
      { name: 'man', ago: 400 * D, kind: 'manual' },
      { name: 'pmu', ago: 200 * D, kind: 'pre-migration' },
      { name: 'pmv', ago: 200 * D, kind: 'pre-migration', verified: true, retention: 7 },
      { name: 'pmc', ago: 200 * D, kind: 'pre-migration', verified: true, confirmed: 2 * D, retention: 1 },
      { name: 'pmc-old', ago: 20 * D, kind: 'pre-migration', confirmed: 10 * D },
      { name: 'pmc-new', ago: 3 * D, kind: 'pre-migration', confirmed: 3 * D },
      { name: 'tkt', ago: 40 * D, kind: 'daily', ticket: 'CHG-1' },
      { name: 'tkc', ago: 40 * D, kind: 'daily', ticket: 'CHG-2', confirmed: 1 * D },
      { name: 'pre', ago: 40 * D, kind: 'pre-restore', env: 'dev' },
      { name: 'new', ago: H },
    ],
    req: {},
  },
  {
    name: 'pins beat expiry, age and GFS',
    snaps: [{ name: 'pin', ago: 300 * D, pinned: true }, ...daily(3)],
    req: { olderThanMs: 2 * D, gfs: { last: 1 }, allowEmpty: true },
  },
  {
    name: 'per-snapshot --retention',
    snaps: [
      { name: 'r1', ago: 2 * D, retention: 1 },
      { name: 'r5', ago: 2 * D, retention: 5 },
      { name: 'new', ago: H },
    ],
    req: {},
  },
  {
    name: 'GFS: keep-daily 3, keep-weekly 2, keep-monthly 2 over 70 days',
    snaps: daily(70),
    req: { gfs: { daily: 3, weekly: 2, monthly: 2 }, timeZone: 'UTC' },
  },
  {
    name: 'GFS keep-last 2 and keep-tag, two sources each with its own floor',
    snaps: [
      ...daily(4, { source: 'db' }),
      ...daily(3, { source: 'files' }),
      { name: 'tag', ago: 50 * D, source: 'db', tags: ['release'] },
    ],
    req: { gfs: { last: 2, tags: ['release'] } },
  },
  {
    name: 'time zone UTC: 23:30 and 00:30 are two days',
    snaps: [
      { name: 'late', ago: 12 * H + 30 * 60_000 },
      { name: 'early', ago: 11 * H + 30 * 60_000 },
      { name: 'before', ago: 3 * D },
    ],
    req: { gfs: { daily: 2 }, timeZone: 'UTC' },
  },
  {
    name: 'time zone Asia/Tokyo: the same two are one day',
    snaps: [
      { name: 'late', ago: 12 * H + 30 * 60_000 },
      { name: 'early', ago: 11 * H + 30 * 60_000 },
      { name: 'before', ago: 3 * D },
    ],
    req: { gfs: { daily: 2 }, timeZone: 'Asia/Tokyo' },
  },
  {
    name: 'time zone America/New_York across the DST change (1 Nov 2026)',
    snaps: [
      { name: 'sat', ago: NOW - Date.UTC(2026, 9, 31, 23, 0) },
      { name: 'sun1', ago: NOW - Date.UTC(2026, 10, 1, 5, 30) },
      { name: 'sun2', ago: NOW - Date.UTC(2026, 10, 1, 6, 30) },
      { name: 'mon', ago: NOW - Date.UTC(2026, 10, 2, 12, 0) },
    ],
    req: { gfs: { hourly: 4 }, timeZone: 'America/New_York' },
  },
  {
    name: 'keep-within 10 days of the newest, older than 30 days removed',
    snaps: daily(40),
    req: { gfs: { within: { years: 0, months: 0, days: 10, hours: 0 } }, olderThanMs: 30 * D },
  },
  {
    name: 'environment filter: only production snapshots are considered',
    snaps: [...daily(3, { env: 'dev', kind: 'scheduled' }), ...daily(3, { env: 'production', kind: 'scheduled' })],
    req: { environment: 'production', olderThanMs: D, allowEmpty: true },
  },
];

function run(c: Case): unknown {
  const p = project(c.yaml);
  const list = snaps(p, c.snaps);
  try {
    const plan = planCleanup(list, c.req, NOW);
    const names = new Map(list.map((e, i) => [e.id, c.snaps[i].name]));
    return plan.decisions.map(
      (d) => `${names.get(d.record.id)}: ${d.remove ? 'REMOVE' : 'keep'} — ${d.reasons.join('; ')}`,
    );
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

describe('retention golden files', () => {
  const got = Object.fromEntries(CASES.map((c) => [c.name, run(c)]));
  if (process.env.HOARD_UPDATE_GOLDEN === '1') writeFileSync(FILE, `${JSON.stringify(got, null, 2)}\n`);
  const want = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
  it('covers every case in the golden file', () => assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort()));
  for (const c of CASES) it(c.name, () => assert.deepEqual(got[c.name], want[c.name]));
});
