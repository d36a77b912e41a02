/**
 * Child processes for database tools (and `backup --stdin-from-command`): no shell, secrets only in
 * `env`, stderr kept (its tail goes into errors). A stream's failure (non-zero exit, signal, spawn
 * error) rejects `done`, so the caller writes no snapshot. Database tools get `toolEnv()`: a few
 * neutral variables of ours plus their target's own settings, never our PG or MYSQL variables.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { HoardError } from '../core/index.js';

const STDERR_TAIL = 4096;

/** What a database tool may inherit from hoard's environment: locale, paths, identity, time zone. */
const INHERITED = /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TMPDIR)$/;

/**
 * The environment of a database tool: the allow-listed variables of `from` (default: ours) plus
 * `own`, the connection's settings (undefined values are left out). Nothing else of ours gets
 * through: a PGPASSWORD, PGHOST, PGSERVICE or MYSQL_PWD set for hoard itself would reach every
 * tool for every target. Pure; the result is a new object.
 */
export function toolEnv(
  own: Record<string, string | undefined> = {},
  from: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && INHERITED.test(k)) e[k] = v;
  for (const [k, v] of Object.entries(own)) if (v !== undefined) e[k] = v;
  return e;
}

export interface ToolOptions {
  /** The child's whole environment (database tools: `toolEnv()`); default: ours, for the user's own commands. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Copy the tool's stderr to ours as it arrives (interactive use). */
  echoStderr?: boolean;
  /** Bytes for the tool's stdin (a restore's input); stdin is closed when absent. */
  stdin?: AsyncIterable<Buffer>;
  /** How a failure is described: "command-failed" (default) for dumps, "tool" etc. */
  hint?: string;
  /** Hears the tool's stderr as it arrives (a tool that reports progress or positions there). */
  onStderr?: (text: string) => void;
}

export interface RunningTool {
  stdout: AsyncIterable<Buffer>;
  done: Promise<void>;
}

/**
 * Starts argv[0] with argv[1..] in its own process group, so that an abort ends it and everything
 * it started. ENOENT becomes kind "tool" (exit 4). Read its stdout from the start: node discards
 * a child's stdout that nobody reads by the time the child exits.
 */
export function runTool(argv: string[], o: ToolOptions = {}): RunningTool {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, {
    stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: o.env ?? process.env,
    detached: true,
  });
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    if (o.echoStderr) process.stderr.write(d);
    o.onStderr?.(d.toString('utf8'));
  });
  let feedError: unknown;
  if (o.stdin && child.stdin) {
    const sink = child.stdin;
    sink.on('error', () => {
      /* EPIPE: the tool exited; its status tells why */
    });
    void (async () => {
      try {
        for await (const chunk of o.stdin!) {
          // the tool may exit early (psql at its first error): stop reading the input then, so that
          // its producer (a repository read, pg_restore) is closed rather than left waiting
          if (sink.destroyed) break;
          if (!sink.write(chunk))
            await new Promise<void>((r) => {
              const on = () => {
                sink.off('drain', on);
                sink.off('close', on);
                r();
              };
              sink.on('drain', on);
              sink.on('close', on);
            });
        }
      } catch (e) {
        // the input failed: the tool must not see a clean end of input (psql would commit what it has)
        feedError = e;
        child.kill('SIGKILL');
        return;
      }
      sink.end();
    })();
  }
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        reject(new HoardError('tool', `${cmd} is not installed or not on PATH`, { hint: toolHint(cmd) }));
      else reject(new HoardError('command-failed', `cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (aborted) return reject(new HoardError('interrupted', 'interrupted'));
      if (feedError) return reject(feedError);
      if (code === 0) return resolve();
      const why = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      const tail = stderrTail(stderr);
      reject(
        new HoardError('command-failed', `${cmd} ${why}${tail ? `: ${tail}` : ''}`, {
          hint: o.hint,
          context: { exit_code: code, signal: sig },
        }),
      );
    });
  });
  done.catch(() => {}); // observed by the caller
  return { stdout: child.stdout!, done };
}

/**
 * The part of a tool's stderr an error quotes: from its last line that starts with "ERROR" (the
 * MySQL client echoes a failed statement, which may span many lines, before it), else the last
 * three lines; at most three lines either way.
 */
export function stderrTail(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const at = lines.map((l) => /^ERROR\b/.test(l)).lastIndexOf(true);
  return (at >= 0 ? lines.slice(at, at + 3) : lines.slice(-3)).join(' | ');
}

/** Output a captured tool may print (queries of hoard's own); more fails the call rather than the process. */
const MAX_CAPTURE = 64 * 1024 * 1024;

/** Runs a tool to completion and returns its stdout as text (at most 64 MiB: kind "command-failed" beyond). */
export async function captureTool(argv: string[], o: ToolOptions = {}): Promise<string> {
  const t = runTool(argv, o);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of t.stdout) {
    size += c.length;
    if (size > MAX_CAPTURE) {
      void t.done.catch(() => {});
      (t.stdout as unknown as { destroy?: () => void }).destroy?.();
      throw new HoardError('command-failed', `${path.basename(argv[0])} printed more than ${MAX_CAPTURE >> 20} MiB`, {
        hint: o.hint,
      });
    }
    parts.push(c);
  }
  await t.done;
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Runs a tool to completion and discards its stdout: restores, whose output is whatever the dump
 * makes the client print (a hostile dump can print gigabytes).
 */
export async function drainTool(argv: string[], o: ToolOptions = {}): Promise<void> {
  const t = runTool(argv, o);
  for await (const _ of t.stdout) {
    /* discarded */
  }
  await t.done;
}

function toolHint(cmd: string): string {
  const base = cmd.split('/').pop() ?? cmd;
  if (/^(pg_|psql)/.test(base)) return 'install the PostgreSQL client: apt-get install postgresql-client';
  if (/^(mysql|mariadb)/.test(base)) return 'install the MariaDB client: apt-get install mariadb-client';
  return `install ${base}`;
}

/** Marks a promise as observed (its rejection is awaited later, or deliberately dropped after an abort). */
export function observed<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
