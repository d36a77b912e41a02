/**
 * The verification report (`hoard verify report`): the evidence an auditor asks for, every
 * verification recorded in the repository over a period, with its backup, time, trigger, level,
 * checks, duration and outcome. It is built from the records stored in the repository alone (and
 * the snapshots, for each backup's time and source), so any machine that has the repository and its
 * password produces the same report, without hoard.yaml. Records are untrusted text: every field
 * shown is redacted and stripped of control characters, and the HTML form escapes it. The
 * repository is named by its display URL (no credentials).
 */
import { type VerificationRecord, loadVerifications, redact } from '../core/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { repositoryLocation, withSnapshots } from './repository-access.js';
import { toRecord } from './snapshot-view.js';

export interface ReportQuery {
  /** Only verifications at or after this time (ms); all when absent. */
  sinceMs?: number;
  source?: string;
}

export interface ReportRow {
  at: string;
  snapshot: string;
  short_id: string;
  /** The backup's time and source, from its snapshot (null once the snapshot is gone). */
  backup_time: string | null;
  source: string | null;
  level: string;
  trigger: string | null;
  ok: boolean;
  checks_passed: number;
  checks: number;
  duration_ms: number;
  restore_ms: number | null;
  message: string;
  hostname: string;
  program_version: string;
}

export interface VerificationReport {
  generated_at: string;
  repository: string;
  since: string | null;
  source: string | null;
  summary: {
    total: number;
    passed: number;
    failed: number;
    by_level: Record<string, { passed: number; failed: number }>;
  };
  verifications: ReportRow[];
}

/** Text from a record as the report shows it: redacted, one line, no control characters. */
const clean = (v: unknown): string =>
  redact(typeof v === 'string' ? v : '')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .slice(0, 2000);

/** The report over the project's repository (reads only; waits only while a prune holds it). */
export async function verificationReport(
  env: Env,
  p: Project,
  q: ReportQuery,
  o: { signal?: AbortSignal } = {},
): Promise<VerificationReport> {
  return withSnapshots(
    env,
    p,
    false,
    async (repo, list) => {
      const backups = new Map(list.map((e) => [e.snapshot.original ?? e.id, toRecord(e)]));
      for (const e of list) backups.set(e.id, toRecord(e));
      const records = (await loadVerifications(repo, o.signal, env.clock.now())).filter(
        (r) => q.sinceMs === undefined || Date.parse(r.at) >= q.sinceMs,
      );
      const rows = records
        .map((r) => rowOf(r, backups.get(r.snapshot) ?? backups.get(r.original)))
        .filter((r) => !q.source || r.source === q.source);
      return {
        generated_at: new Date(env.clock.now()).toISOString(),
        repository: clean(repositoryLocation(p).url),
        since: q.sinceMs === undefined ? null : new Date(q.sinceMs).toISOString(),
        source: q.source ?? null,
        summary: summarize(rows),
        verifications: rows,
      };
    },
    { index: false, lockFree: true, signal: o.signal },
  );
}

function rowOf(r: VerificationRecord, b: ReturnType<typeof toRecord> | undefined): ReportRow {
  return {
    at: clean(r.at),
    snapshot: clean(r.snapshot),
    short_id: clean(r.snapshot).slice(0, 8),
    backup_time: b?.time ?? null,
    source: b?.source ?? (r.source !== undefined ? clean(r.source) : null),
    level: r.level,
    trigger: r.trigger !== undefined ? clean(r.trigger) : null,
    ok: r.ok,
    checks_passed: r.checks.filter((c) => c.ok === true).length,
    checks: r.checks.length,
    duration_ms: r.duration_ms,
    restore_ms: r.restore_ms ?? null,
    message: clean(r.message),
    hostname: clean(r.hostname),
    program_version: clean(r.program_version),
  };
}

function summarize(rows: ReportRow[]): VerificationReport['summary'] {
  const by_level: VerificationReport['summary']['by_level'] = {};
  for (const r of rows) {
    const l = (by_level[r.level] ??= { passed: 0, failed: 0 });
    if (r.ok) l.passed++;
    else l.failed++;
  }
  const passed = rows.filter((r) => r.ok).length;
  return { total: rows.length, passed, failed: rows.length - passed, by_level };
}

const COLUMNS: [string, (r: ReportRow) => string][] = [
  ['verified at', (r) => r.at],
  ['backup', (r) => r.short_id],
  ['backup time', (r) => r.backup_time ?? '(gone)'],
  ['source', (r) => r.source ?? ''],
  ['level', (r) => r.level],
  ['trigger', (r) => r.trigger ?? ''],
  ['checks', (r) => `${r.checks_passed}/${r.checks}`],
  ['duration', (r) => `${(r.duration_ms / 1000).toFixed(1)} s`],
  ['restore', (r) => (r.restore_ms === null ? '' : `${(r.restore_ms / 1000).toFixed(1)} s`)],
  ['outcome', (r) => (r.ok ? 'passed' : 'FAILED')],
  ['message', (r) => r.message],
];

function heading(r: VerificationReport): string[] {
  const s = r.summary;
  const levels = Object.entries(s.by_level)
    .map(([l, n]) => `${l}: ${n.passed} passed, ${n.failed} failed`)
    .join('; ');
  return [
    `Repository: ${r.repository}`,
    `Period: ${r.since ? `since ${r.since}` : 'every record'} to ${r.generated_at}${r.source ? `; source ${r.source}` : ''}`,
    `Verifications: ${s.total} (${s.passed} passed, ${s.failed} failed)${levels ? `; ${levels}` : ''}`,
  ];
}

const esc = (t: string) =>
  t.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The report as a Markdown document (a table of every verification). */
export function reportMarkdown(r: VerificationReport): string {
  // a record's text is untrusted: no HTML, link, image or emphasis may come through a renderer
  const cell = (t: string) => esc(t).replace(/[\\|[\]()`*_!#~]/g, (c) => `\\${c}`);
  return [
    '# hoard verification report',
    '',
    ...heading(r).map((l) => `- ${cell(l)}`),
    '',
    `| ${COLUMNS.map(([h]) => h).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...r.verifications.map((row) => `| ${COLUMNS.map(([, f]) => cell(f(row))).join(' | ')} |`),
    '',
  ].join('\n');
}

/** The report as one self-contained HTML page (no scripts, no outside resources). */
export function reportHtml(r: VerificationReport): string {
  const rows = r.verifications.map(
    (row) =>
      `<tr class="${row.ok ? 'ok' : 'failed'}">${COLUMNS.map(([, f]) => `<td>${esc(f(row))}</td>`).join('')}</tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hoard verification report</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}tr.failed{background:#fdd}</style>
</head><body>
<h1>hoard verification report</h1>
<ul>${heading(r)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('')}</ul>
<table><thead><tr>${COLUMNS.map(([h]) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
</body></html>
`;
}
