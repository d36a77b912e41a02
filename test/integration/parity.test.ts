/**
 * Parity of the doors (issue 22): one table of operations, each run on its own copy of the same
 * project through the CLI (`--json`), the REST API and the library. The three results, seen
 * through the row's view, must be equal, and so must the repositories they leave (read with
 * stock restic: each snapshot's tags and paths, and its id where the operation made none).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Hoard, openHoard } from '../../src/index.js';
import { createClient } from '../../src/api/client.js';
import { ROOT, hoard, needRestic, restic, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';
import { type Token, addServerSection, serve } from '../helpers/api.js';

type Api = ReturnType<typeof createClient>;
type Json = Record<string, unknown>;

interface Row {
  name: string;
  /** Whether the operation makes snapshots (their ids then differ between the copies). */
  creates?: boolean;
  cli: string[];
  api: (api: Api) => Promise<unknown>;
  lib: (h: Hoard) => Promise<unknown>;
  /** What must be equal: the CLI's JSON, the API's body and the library's value, each mapped. */
  view: { cli: (out: unknown) => unknown; api: (body: unknown) => unknown; lib: (value: unknown) => unknown };
}

const pick = (r: unknown, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (r as Json)[k]]));
const RECORD = [
  'id',
  'short_id',
  'kind',
  'label',
  'source',
  'environment',
  'size',
  'paths',
  'tags',
  'pinned',
  'expires_at',
  'verification',
];
const records = (xs: unknown) => (xs as Json[]).map((x) => pick(x, RECORD));
const decisions = (xs: unknown) => (xs as Json[]).map((d) => ({ id: d.id ?? (d.record as Json).id, remove: d.remove }));
const made = (xs: unknown) => (xs as Json[]).map((x) => pick(x, ['kind', 'label', 'source', 'environment']));

/** Waits for an API task and returns its result. */
async function taskResult(api: Api, started: { status: number; body: unknown; text: string }): Promise<Json> {
  assert.equal(started.status, 202, started.text);
  const id = (started.body as { task_id: string }).task_id;
  for (let i = 0; i < 300; i++) {
    const task = (
      (await api.raw('GET', `/tasks/${id}`)).body as { task: { status: string; result: Json; error: unknown } }
    ).task;
    if (task.status === 'succeeded') return task.result;
    assert.notEqual(task.status, 'failed', JSON.stringify(task.error));
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`task ${id} did not end`);
}

const TABLE: Row[] = [
  {
    name: 'list',
    cli: ['list', '--json'],
    api: async (api) => (await api.raw('GET', '/backups')).body,
    lib: (h) => h.list(),
    view: { cli: records, api: (b) => records((b as Json).backups), lib: records },
  },
  {
    name: 'list --source app --type manual',
    cli: ['list', '--source', 'app', '--type', 'manual', '--json'],
    api: async (api) => (await api.raw('GET', '/backups?source=app&kind=manual')).body,
    lib: (h) => h.list({ source: 'app', kind: 'manual' }),
    view: { cli: records, api: (b) => records((b as Json).backups), lib: records },
  },
  {
    name: 'info by label',
    cli: ['info', 'first', '--json'],
    api: async (api) => (await api.raw('GET', '/backups/first')).body,
    lib: (h) => h.info('first'),
    view: { cli: (r) => pick(r, RECORD), api: (b) => pick((b as Json).backup, RECORD), lib: (r) => pick(r, RECORD) },
  },
  {
    name: 'status',
    cli: ['status', '--json'],
    api: async (api) => (await api.raw('GET', '/status')).body,
    lib: (h) => h.status(),
    view: Object.fromEntries(
      ['cli', 'api', 'lib'].map((k) => [
        k,
        (s: unknown) => {
          const r = s as { environment: unknown; sources: Json[]; repository: Json };
          const sources = r.sources.map((x) => ({
            ...pick(x, ['source', 'type', 'jobs', 'schedule', 'snapshots', 'next_run']),
            last: (x.last_backup as Json | null)?.id,
          }));
          return { environment: r.environment, snapshots: r.repository.snapshots, sources };
        },
      ]),
    ) as Row['view'],
  },
  {
    name: 'cleanup --keep-last 1 --dry-run',
    cli: ['cleanup', '--keep-last', '1', '--dry-run', '--json'],
    api: async (api) => (await api.raw('POST', '/backups/cleanup', { keep_last: 1, dry_run: true })).body,
    lib: (h) => h.cleanup({ gfs: { last: 1 }, dryRun: true }),
    view: {
      cli: (r) => decisions((r as Json).decisions),
      api: (b) => decisions((b as Json).decisions),
      lib: (r) => decisions((r as Json).decisions),
    },
  },
  {
    name: 'delete by label',
    cli: ['delete', 'first', '--yes', '--json'],
    api: async (api) => (await api.raw('DELETE', '/backups/first?confirm=true')).body,
    lib: (h) => h.delete('first', { confirm: true }),
    view: {
      cli: (r) => ((r as Json).deleted as Json[]).map((x) => x.id),
      api: (b) => (b as Json).deleted_files,
      lib: (r) => [(r as Json).id],
    },
  },
  {
    name: 'backup a source with a label',
    creates: true,
    cli: ['backup', 'app', '--label', 'third', '--json'],
    api: async (api) =>
      (await taskResult(api, await api.raw('POST', '/backups', { source: 'app', label: 'third' }))).backups,
    lib: async (h) => (await h.backup({ sources: ['app'], label: 'third' })).created,
    view: { cli: (r) => made([r]), api: made, lib: made },
  },
];

/** Each snapshot in the project's repository as stock restic lists it: tags and paths, and the id unless left out. */
async function repositoryView(dir: string, withIds: boolean): Promise<unknown[]> {
  const password = (await readFile(path.join(dir, '.hoard', 'password'), 'utf8')).trim();
  const r = await restic(path.join(dir, '.hoard', 'repo'), password, ['snapshots', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = (JSON.parse(r.stdout) as { id: string; tags?: string[]; paths: string[] }[]).map((s) => ({
    ...(withIds ? { id: s.id } : {}),
    tags: [...(s.tags ?? [])].sort(),
    paths: s.paths,
  }));
  return list.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** The CLI's --json output: one JSON value, or one per line. */
function parseCli(stdout: string): unknown {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(stdout);
  } catch {
    return lines.length === 1 ? JSON.parse(lines[0]) : lines.map((l) => JSON.parse(l));
  }
}

describe('the same operation through the CLI, the API and the library', () => {
  let base = '';
  let token: Token;

  before(async () => {
    // one project with two backups (labels first, second) that every row copies
    base = await mkdtemp(path.join(tmpdir(), 'hoard-parity-base-'));
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(base, 'app.db'));
    assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: base, env: CLEAN_ENV })).code, 0);
    for (const label of ['first', 'second'])
      assert.equal((await hoard(['backup', 'app', '--label', label], { cwd: base, env: CLEAN_ENV })).code, 0);
    token = (await addServerSection(base, [['ops', 'admin']])).ops;
  });

  after(() => rm(base, { recursive: true, force: true }));

  for (const row of TABLE) {
    it(row.name, async (t) => {
      if (!(await needRestic(t))) return;
      const copy = async (door: string) => {
        const dir = await tempDir(t, `hoard-parity-${door}-`);
        await cp(base, dir, { recursive: true });
        return dir;
      };
      const [cliDir, apiDir, libDir] = [await copy('cli'), await copy('api'), await copy('lib')];

      const cli = await hoard(row.cli, { cwd: cliDir, env: CLEAN_ENV });
      assert.equal(cli.code, 0, cli.stderr);
      const { base: url } = await serve(t, apiDir);
      const viaApi = await row.api(createClient(url, token.token));
      const h = await openHoard({ cwd: libDir, vars: { ...process.env, ...CLEAN_ENV } });
      const viaLib = JSON.parse(JSON.stringify(await row.lib(h)));

      const fromCli = row.view.cli(parseCli(cli.stdout));
      assert.deepEqual(row.view.api(viaApi), fromCli, 'the API and the CLI answer alike');
      assert.deepEqual(row.view.lib(viaLib), fromCli, 'the library and the CLI answer alike');
      const left = await repositoryView(cliDir, !row.creates);
      assert.deepEqual(
        await repositoryView(apiDir, !row.creates),
        left,
        'the API leaves the repository as the CLI does',
      );
      assert.deepEqual(
        await repositoryView(libDir, !row.creates),
        left,
        'the library leaves the repository as the CLI does',
      );
    });
  }
});
