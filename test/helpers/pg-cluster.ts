/**
 * A PostgreSQL cluster of the test's own (initdb and pg_ctl of the installed server, a free port,
 * a temporary folder), archiving into a hoard repository through `hoard wal push`. The shared
 * server's configuration is never touched. PostgreSQL does not run as root, so under root the
 * cluster and every hoard command it runs belong to the `postgres` user.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { CLEAN_ENV } from './project.js';
import { CLI, REQUIRE, type RunResult, run } from './services.js';

export const PG_BIN = ['17', '16', '15', '14', '13']
  .map((v) => `/usr/lib/postgresql/${v}/bin`)
  .find((d) => existsSync(path.join(d, 'initdb')));

export const PASSWORD = 'pitr-test-password';
/**
 * The postgres role's password: the cluster itself trusts local logins, but a restored copy takes
 * password logins only (hoard writes its hba file), as a production server would.
 */
export const DB_PASSWORD = 'pitr-db-password';

/** The user clusters run as: postgres under root, else ourselves. */
export function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))!;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

import { freePort } from '../../src/databases/postgres/cluster.js';

export { freePort };

/** Runs a program as the cluster user, in the clean environment; never throws for a non-zero exit. */
export function runAsCluster(
  cmd: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(cmd, args, {
    ...o,
    env: { ...CLEAN_ENV, ...o.env },
    user: clusterUser(),
    timeoutMs: o.timeoutMs ?? 300_000,
  });
}

/**
 * Starts a data folder by hand, as an operator would outside hoard: given to the cluster user,
 * on a free port, with `options` for the server; throws with the log's tail when it does not start.
 */
export async function startDataDir(
  data: string,
  o: { log: string; options?: string },
): Promise<{ port: number; stop(): Promise<void> }> {
  const user = clusterUser();
  if (user) await run('chown', ['-R', `${user.uid}:${user.gid}`, data]);
  await fs.chmod(data, 0o700);
  const port = await freePort();
  const pgCtl = path.join(PG_BIN!, 'pg_ctl');
  const start = await runAsCluster(pgCtl, [
    '-D',
    data,
    '-w',
    '-l',
    o.log,
    '-o',
    `-p ${port} ${o.options ?? ''}`,
    'start',
  ]);
  if (start.code !== 0)
    throw new Error(
      `${data} did not start: ${start.stderr}${(await fs.readFile(o.log, 'utf8').catch(() => '')).slice(-2000)}`,
    );
  return {
    port,
    stop: async () => {
      await runAsCluster(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
  };
}

export interface Cluster {
  dir: string;
  data: string;
  port: number;
  repo: string;
  config: string;
  url: string;
  /** One SQL script through psql; its output (unaligned, tuples only). Throws on failure. */
  sql(text: string, port?: number): Promise<string>;
  /** hoard as the cluster user, with the test's config. */
  hoard(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  pgCtl(args: string[], data?: string): Promise<RunResult>;
  restart(): Promise<void>;
  /** Switches to a new segment and waits until the server has archived the old one. */
  switchAndWait(): Promise<string>;
  /**
   * `hoard restore --source pg FLAGS --target DIR/NAME --start PORT` (asserted to succeed), then
   * `query` against the restored server, which is stopped afterwards.
   */
  restored(flags: string[], name: string, query: string): Promise<{ out: RunResult; rows: string; target: string }>;
}

/** True when the server binaries are installed; skips t (or throws under REQUIRE) otherwise. */
export function needServer(t: TestContext): boolean {
  if (PG_BIN) return true;
  if (REQUIRE)
    throw new Error('the PostgreSQL server (initdb, pg_ctl) is not installed but HOARD_TEST_REQUIRE_SERVICES=1');
  t.skip('the PostgreSQL server is not installed (apt-get install postgresql)');
  return false;
}

/**
 * Starts a cluster archiving into a new repository (source `pg` with pitr:), stopped after the
 * test. `settings` are extra postgresql.conf lines; `repoSettings` extra keys of the repository.
 */
export async function startCluster(
  t: TestContext,
  o: { settings?: string[]; repoSettings?: string; pitr?: string } = {},
): Promise<Cluster> {
  // one hook stops the server, then removes the folder (tempDir's hook would run first)
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoard-pitr-'));
  await fs.chmod(dir, 0o755);
  const user = clusterUser();
  if (user) await fs.chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const repo = path.join(dir, 'repo');
  const config = path.join(dir, 'hoard.yaml');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await fs.writeFile(path.join(dir, 'pw'), `${PASSWORD}\n`, { mode: 0o600 });
  await fs.writeFile(
    config,
    `version: 1\nrepositories:\n  main: { url: ${repo}, password: file:${dir}/pw${o.repoSettings ?? ''} }\n` +
      `sources:\n  pg:\n    type: postgres\n    url: ${url}\n    pitr: ${o.pitr ?? '{ rpo: 5m }'}\n`,
  );
  if (user) for (const f of ['pw', 'hoard.yaml']) await fs.chown(path.join(dir, f), user.uid, user.gid);
  const env = { HOME: dir };
  const must = async (r: Promise<RunResult>, what: string) => {
    const x = await r;
    if (x.code !== 0) throw new Error(`${what} failed (${x.code}): ${x.stderr}${x.stdout}`);
    return x;
  };
  const pgCtl = (args: string[], d = data) =>
    runAsCluster(path.join(PG_BIN!, 'pg_ctl'), ['-D', d, '-w', ...args], { env });
  t.after(async () => {
    await pgCtl(['-m', 'immediate', 'stop']).catch(() => {});
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => {});
  });
  await must(
    runAsCluster(path.join(PG_BIN!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-N'], { env }),
    'initdb',
  );
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'archive_mode = on',
    `archive_command = '${process.execPath} ${CLI} wal push --config ${config} %p'`,
    'fsync = off',
    'track_commit_timestamp = on',
    ...(o.settings ?? []),
  ];
  await fs.appendFile(path.join(data, 'postgresql.conf'), `${conf.join('\n')}\n`);
  const hoardRun = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    runAsCluster(process.execPath, [CLI, ...args, '--config', config], { env: { ...env, ...extra }, cwd: dir });
  await must(hoardRun(['init', '--repo', repo], { HOARD_PASSWORD: PASSWORD }), 'hoard init');
  await must(pgCtl(['-l', path.join(dir, 'server.log'), 'start']), 'pg_ctl start');
  const sql = async (text: string, p = port) =>
    (
      await must(
        runAsCluster(
          path.join(PG_BIN!, 'psql'),
          [
            ...'-X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d postgres'.split(' '),
            '-p',
            String(p),
            '-c',
            text,
          ],
          { env: { ...env, PGPASSWORD: DB_PASSWORD } },
        ),
        `psql ${text.slice(0, 60)}`,
      )
    ).stdout.trim();
  await sql(`ALTER ROLE postgres PASSWORD '${DB_PASSWORD}'`);
  return {
    dir,
    data,
    port,
    repo,
    config,
    url,
    sql,
    hoard: hoardRun,
    pgCtl,
    async restart() {
      await must(pgCtl(['-m', 'fast', '-l', path.join(dir, 'server.log'), 'restart']), 'pg_ctl restart');
    },
    async restored(flags, name, query) {
      const target = path.join(dir, name);
      const p = await freePort();
      const out = await hoardRun(['restore', '--source', 'pg', ...flags, '--target', target, '--start', String(p)]);
      if (out.code !== 0)
        throw new Error(`restore ${flags.join(' ')} failed (${out.code}): ${out.stdout}${out.stderr}`);
      try {
        return { out, rows: await sql(query, p), target };
      } finally {
        await runAsCluster(path.join(PG_BIN!, 'pg_ctl'), ['-D', target, '-m', 'immediate', '-w', 'stop']);
      }
    },
    async switchAndWait() {
      const seg = await sql('SELECT pg_walfile_name(pg_switch_wal())');
      for (let i = 0; i < 1200; i++) {
        const last = await sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if (last >= seg) return seg;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(
        `segment ${seg} was not archived in 2 minutes: ${await fs.readFile(path.join(dir, 'server.log'), 'utf8')}`,
      );
    },
  };
}
