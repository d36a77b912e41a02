/**
 * Access to the real services tests use. A missing service skips the test with a reason, unless
 * HOARD_TEST_REQUIRE_SERVICES=1 (CI), where it fails the run.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const REQUIRE = process.env.HOARD_TEST_REQUIRE_SERVICES === '1';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');

let resticFound: boolean | undefined;

/** True when restic is usable; otherwise skips t (or throws under REQUIRE). */
export async function needRestic(t: TestContext): Promise<boolean> {
  resticFound ??= await new Promise<boolean>((r) => execFile('restic', ['version'], (e) => r(!e)));
  if (resticFound) return true;
  if (REQUIRE) throw new Error('restic is not installed but HOARD_TEST_REQUIRE_SERVICES=1');
  t.skip('restic is not installed (apt-get install restic)');
  return false;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBuf: Buffer;
}

/** Runs a program with env additions; never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    input?: Buffer | string;
    timeoutMs?: number;
    user?: { uid: number; gid: number };
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      uid: opts.user?.uid,
      gid: opts.user?.gid,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [],
      err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBuf = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: stdoutBuf.toString(), stderr: Buffer.concat(err).toString(), stdoutBuf });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs restic with the repository and password given through the environment (never argv). */
export function restic(
  repo: string,
  password: string,
  args: string[],
  opts: { cwd?: string; input?: Buffer | string } = {},
): Promise<RunResult> {
  return run('restic', ['-r', repo, ...args], {
    ...opts,
    env: { RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: path.join(os.tmpdir(), 'hoard-test-restic-cache') },
  });
}

/** Runs the built hoard CLI. */
export function hoard(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer | string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], opts);
}

/**
 * A fresh temporary folder removed after the test. Retried: a server the test started is stopped by
 * a later `after` hook, so it may still write its audit log while the folder goes (ENOTEMPTY).
 * A folder that still cannot be removed is left and named on stderr.
 */
export async function tempDir(t: TestContext, prefix = 'hoard-test-'): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix));
  // never throws: a throwing after hook skips the later ones (the server's stop), and the run hangs
  t.after(() =>
    rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch((e) =>
      process.stderr.write(`could not remove ${d}: ${(e as Error).message}\n`),
    ),
  );
  return d;
}

/** Waits (up to 10 s) until the repository at `repo` holds a complete lock file (not a temporary one). */
export async function waitForLock(repo: string): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  for (let i = 0; i < 200; i++) {
    if ((await readdir(path.join(repo, 'locks')).catch(() => [] as string[])).some((f) => /^[0-9a-f]{64}$/.test(f)))
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no lock appeared in ${repo}`);
}

/** Everything a child prints on stdout and stderr, as it arrives. */
export function outputOf(child: import('node:child_process').ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return () => out;
}
