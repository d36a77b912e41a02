/**
 * Runs a command whose stdout is backed up (backup --stdin-from-command, database dumps). The
 * command gets no shell; its failure (non-zero exit, signal, spawn error) rejects `done` with the
 * tail of its stderr so that no snapshot is written.
 */
import { spawn } from 'node:child_process';
import { HoardError } from '../core/errors.js';

export interface CommandStream {
  stdout: AsyncIterable<Buffer>;
  done: Promise<void>;
}

const STDERR_TAIL = 4096;

/**
 * Starts argv[0] with argv[1..]; env is inherited unless given (pass secrets there, never argv).
 * The command runs in its own process group, so that an abort ends it and everything it started.
 */
export function runForStream(argv: string[], signal?: AbortSignal, env?: NodeJS.ProcessEnv): CommandStream {
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env, detached: true });
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    try { if (child.pid) process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    process.stderr.write(d);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new HoardError('command-failed', `cannot run ${cmd}: ${e.code === 'ENOENT' ? 'command not found' : e.message}`, { hint: 'check the command after --' }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (aborted) return reject(new HoardError('interrupted', 'interrupted'));
      if (code === 0) return resolve();
      const why = sig ? `was killed by ${sig}` : `exited with status ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new HoardError('command-failed', `${cmd} ${why}${tail ? `: ${tail}` : ''}; no snapshot was written`, { hint: 'fix the command and run the backup again', context: { exit_code: code, signal: sig } }));
    });
  });
  done.catch(() => {}); // observed by the caller after the stream ends
  return { stdout: child.stdout, done };
}
