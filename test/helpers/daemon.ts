/** `hoard scheduler start` as a child process in a project folder, with its output kept. */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, outputOf } from './services.js';
import { CLEAN_ENV } from './project.js';

export interface Daemon {
  child: ChildProcess;
  log: () => string;
  /** SIGTERM, resolved with the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts the scheduler in `dir` (retries 0.7 s apart unless `env` says otherwise). */
export function startDaemon(dir: string, env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [CLI, 'scheduler', 'start'], {
    cwd: dir,
    env: { ...process.env, ...CLEAN_ENV, HOARD_SCHEDULER_RETRY_MS: '700', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = outputOf(child);
  return {
    child,
    log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else {
          child.on('exit', (c) => resolve(c));
          child.kill('SIGTERM');
        }
      }),
  };
}
