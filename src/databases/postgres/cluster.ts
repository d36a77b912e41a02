/**
 * A PostgreSQL data directory run by hoard: the server binaries of one major version
 * (/usr/lib/postgresql/N/bin, else HOARD_PG_BINDIR), started with pg_ctl on a port hoard chose,
 * and stopped again. PostgreSQL refuses to run as root: run as root, hoard gives the folder to its
 * owner, or to the `postgres` user when root owns it, and runs the server as that user.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError } from '../../core/index.js';
import * as net from 'node:net';

/** The folder of the server binaries of `major`; kind "tool" (exit 4) when they are not installed. */
export function serverBinDir(major: number, vars: NodeJS.ProcessEnv = process.env): string {
  const dirs = [vars.HOARD_PG_BINDIR, `/usr/lib/postgresql/${major}/bin`, `/usr/pgsql-${major}/bin`].filter(
    (d): d is string => !!d,
  );
  const dir = dirs.find((d) => existsSync(path.join(d, 'pg_ctl')) && existsSync(path.join(d, 'postgres')));
  if (!dir)
    throw new HoardError('tool', `the PostgreSQL ${major} server is not installed (no pg_ctl in ${dirs.join(', ')})`, {
      hint: `install postgresql-${major} (the same major version as the backed-up server)`,
    });
  return dir;
}

/** The user a server in `dir` runs as: ourselves, or (as root) the folder's owner, or `postgres`. */
export async function serverUser(dir: string): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const st = await fs.stat(dir);
  if (st.uid !== 0) return { uid: st.uid, gid: st.gid };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new HoardError('usage', 'PostgreSQL does not run as root, and there is no postgres user to run it as', {
      hint: 'run hoard as the database user, or chown the target folder to that user first',
    });
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Gives `dir` and everything in it to `user` (no-op when hoard is not root). */
export async function chownTree(dir: string, user: { uid: number; gid: number } | undefined): Promise<void> {
  if (!user) return;
  await fs.chown(dir, user.uid, user.gid);
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    await fs.lchown(path.join(e.parentPath, e.name), user.uid, user.gid);
  }
}

/** Runs a server binary to its end; kind "command-failed" with its output's tail when it fails. */
export function runAs(
  argv: string[],
  user: { uid: number; gid: number } | undefined,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env,
      cwd,
      uid: user?.uid,
      gid: user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8192)));
    child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8192)));
    child.on('error', (e) => reject(new HoardError('tool', `cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new HoardError(
              'command-failed',
              `${path.basename(argv[0])} exited with status ${code}: ${out.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

/** A word for the shell pg_ctl hands `-o` to. */
const shWord = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * Starts the server in `dir` on `port` with `settings` (`name=value`, given as `-c`: they win over
 * every settings file) and waits until it accepts connections.
 */
export async function startServer(o: {
  binDir: string;
  dir: string;
  port: number;
  env: NodeJS.ProcessEnv;
  settings: string[];
  user?: { uid: number; gid: number };
  timeoutS?: number;
}): Promise<void> {
  const log = path.join(o.dir, 'hoard-start.log');
  await runAs(
    [
      path.join(o.binDir, 'pg_ctl'),
      '-D',
      o.dir,
      '-l',
      log,
      '-w',
      '-t',
      String(o.timeoutS ?? 600),
      '-o',
      [`-p ${o.port}`, ...o.settings.map((x) => `-c ${shWord(x)}`)].join(' '),
      'start',
    ],
    o.user,
    o.env,
    o.dir,
  ).catch(async (e) => {
    const tail = (await fs.readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-4).join(' | ');
    throw new HoardError('command-failed', `the restored server did not start: ${tail || (e as Error).message}`, {
      hint: `see ${log}`,
    });
  });
}

/** Stops the server in `dir` (fast shutdown); quiet when it is not running. */
export async function stopServer(binDir: string, dir: string, user?: { uid: number; gid: number }): Promise<void> {
  await runAs([path.join(binDir, 'pg_ctl'), '-D', dir, '-m', 'fast', '-w', 'stop'], user, process.env, dir).catch(
    () => {},
  );
}

/** A free TCP port on 127.0.0.1 (for a server hoard starts: restores with --start, drills). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The cluster's state as pg_controldata reports it ("in production", "in archive recovery", "shut down", …). */
export async function clusterState(binDir: string, dir: string, user?: { uid: number; gid: number }): Promise<string> {
  const out = await runAs(
    [path.join(binDir, 'pg_controldata'), dir],
    user,
    { LANG: 'C', LC_ALL: 'C', PATH: process.env.PATH },
    dir,
  );
  return /^Database cluster state:\s*(.+)$/m.exec(out)?.[1]?.trim() ?? '';
}
