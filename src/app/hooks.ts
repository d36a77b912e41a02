/**
 * Job hooks: shell commands run before a job, after it, and when it fails, in the project's
 * folder, with the outcome in environment variables (HOARD_JOB, HOARD_RESULT, HOARD_SNAPSHOT_IDS,
 * HOARD_ERROR, HOARD_TRIGGER). A hook that runs past its timeout is killed (its process group) and
 * reported. Hooks never see a secret hoard holds: see hookEnvironment.
 */
import { spawn } from 'node:child_process';

export interface HookOutcome {
  command: string;
  ok: boolean;
  code: number | null;
  timedOut: boolean;
  output: string;
}

/** Variables no hook sees: repository passwords, and the database and cloud tools' own secrets. */
const ALWAYS_HIDDEN =
  /^(?:(?:HOARD|RESTIC)_(?:NEW_)?PASSWORD.*|PGPASSWORD|MYSQL_PWD|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)$/;

/**
 * A hook's environment: `base` (the process's) without ALWAYS_HIDDEN and without `hidden` (the
 * variables hoard.yaml reads secrets from, `env:NAME`), then hoard's HOARD_* variables (`vars`).
 */
export function hookEnvironment(
  base: NodeJS.ProcessEnv,
  hidden: readonly string[],
  vars: Record<string, string>,
): NodeJS.ProcessEnv {
  const drop = new Set(hidden);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!ALWAYS_HIDDEN.test(k) && !drop.has(k)) env[k] = v;
  return { ...env, ...vars };
}

/** Runs one hook command; never throws. `hidden`: variables the hook must not see (see hookEnvironment). */
export function runHook(
  command: string,
  o: {
    cwd: string;
    vars: Record<string, string>;
    timeoutMs: number;
    baseEnv: NodeJS.ProcessEnv;
    hidden: readonly string[];
    signal?: AbortSignal;
  },
): Promise<HookOutcome> {
  return new Promise((resolve) => {
    const env = hookEnvironment(o.baseEnv, o.hidden, o.vars);
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: o.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    o.signal?.addEventListener('abort', kill, { once: true }); // an aborted run takes its hooks with it
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ command, ok: false, code: null, timedOut, output: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ command, ok: code === 0 && !timedOut, code, timedOut, output: output.trim() });
    });
  });
}

/** The commands of a hook entry (a string or a list). */
export const commands = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
