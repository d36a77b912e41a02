/**
 * Facts about the running process that core must not read itself: time, identity, environment
 * variables, and the repository password. The CLI builds one Env; tests may build their own.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import {
  type Clock,
  formatGoTime,
  goTimeFromMs,
  HoardError,
  type Identity,
  type KeyCache,
  type LockOwner,
} from '../core/index.js';

export interface Env {
  vars: NodeJS.ProcessEnv;
  clock: Clock;
  cwd: string;
  isTTY: boolean;
  /** Opened key files, for processes that open the repository many times (server, scheduler, library). */
  keys?: KeyCache;
  /** --limit-upload / --limit-download in KiB/s (they beat hoard.yaml's repository limits). */
  limits?: { uploadKiBs?: number; downloadKiBs?: number };
  /** --retry-lock: how long taking a lock waits for another process's conflicting lock (default: fail at once), and who hears that it waits. */
  lockWait?: { ms: number; onWait?(holder: string): void };
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** The process's identity for key files and snapshots. */
export function identity(env: Env): Identity & { uid: number; gid: number } {
  let username = env.vars.USER ?? '';
  try {
    username = os.userInfo().username;
  } catch {
    /* keep $USER */
  }
  return {
    username,
    hostname: os.hostname(),
    now: formatGoTime(goTimeFromMs(env.clock.now())),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  };
}

/** The lock owner for this process (stale-lock detection by PID on this host). */
export function lockOwner(env: Env): LockOwner {
  const id = identity(env);
  return {
    hostname: id.hostname,
    username: id.username,
    pid: process.pid,
    uid: id.uid,
    gid: id.gid,
    isProcessAlive(pid: number) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

/** First set variable among HOARD_x and RESTIC_x. */
function pick(vars: NodeJS.ProcessEnv, suffix: string): string | undefined {
  return vars[`HOARD_${suffix}`] || vars[`RESTIC_${suffix}`] || undefined;
}

/** The repository URL from the flag, HOARD_REPOSITORY or RESTIC_REPOSITORY; kind "usage" when none. */
export function repositoryUrl(env: Env, flag?: string): string {
  const url = flag || pick(env.vars, 'REPOSITORY');
  if (!url) throw new HoardError('usage', 'no repository given', { hint: 'pass --repo URL or set HOARD_REPOSITORY' });
  return url;
}

/**
 * The password from HOARD_PASSWORD, HOARD_PASSWORD_FILE or HOARD_PASSWORD_COMMAND (RESTIC_*
 * accepted), else the configured source (hoard.yaml), else a prompt on a TTY. Never from argv. Kind "usage" when there is no source.
 */
export async function resolvePassword(
  env: Env,
  opts: { confirm?: boolean; configured?: () => Promise<string> } = {},
): Promise<string> {
  const direct = pick(env.vars, 'PASSWORD');
  if (direct) return direct;
  const file = pick(env.vars, 'PASSWORD_FILE');
  if (file) {
    try {
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new HoardError(
        'usage',
        `cannot read the password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { hint: 'check HOARD_PASSWORD_FILE' },
      );
    }
  }
  const cmd = pick(env.vars, 'PASSWORD_COMMAND');
  if (cmd) return passwordFromCommand(cmd);
  if (opts.configured) return opts.configured();
  if (env.isTTY)
    return promptPassword(
      opts.confirm ? 'enter password for new repository: ' : 'enter password for repository: ',
      opts.confirm,
    );
  throw new HoardError('usage', 'no password given', {
    hint: 'set HOARD_PASSWORD, HOARD_PASSWORD_FILE or HOARD_PASSWORD_COMMAND',
  });
}

function passwordFromCommand(cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', cmd], { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err)
        reject(
          new HoardError('usage', `the password command failed (${err.code ?? err.message})`, {
            hint: 'check HOARD_PASSWORD_COMMAND',
          }),
        );
      else resolve(stdout.replace(/\r?\n$/, ''));
    });
  });
}

async function readHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  let out = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            resolve(out);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new HoardError('interrupted', 'interrupted'));
            return;
          }
          if (ch === '\u007f') out = out.slice(0, -1);
          else out += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

async function promptPassword(prompt: string, confirm?: boolean): Promise<string> {
  const pw = await readHidden(prompt);
  if (confirm && (await readHidden('enter password again: ')) !== pw)
    throw new HoardError('usage', 'the passwords do not match');
  return pw;
}
