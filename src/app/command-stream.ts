/**
 * Runs the command whose stdout `backup --stdin-from-command` stores. The command gets no shell;
 * its failure (non-zero exit, signal, spawn error) rejects `done` with the tail of its stderr and
 * the reminder that no snapshot was written.
 */
import { HoardError, isHoardError } from '../core/index.js';
import { runTool } from '../databases/index.js';

export interface CommandStream {
  stdout: AsyncIterable<Buffer>;
  done: Promise<void>;
}

/** Starts argv in its own process group (an abort ends it and its children); stderr is shown as it comes. */
export function runForStream(argv: string[], signal?: AbortSignal, env?: NodeJS.ProcessEnv): CommandStream {
  const run = runTool(argv, { signal, env, echoStderr: true });
  const done = run.done.catch((e: unknown) => {
    if (isHoardError(e, 'command-failed') || isHoardError(e, 'tool')) {
      throw new HoardError('command-failed', `${e.message}; no snapshot was written`, {
        hint: 'fix the command and run the backup again',
        context: e.context,
      });
    }
    throw e;
  });
  done.catch(() => {});
  return { stdout: run.stdout, done };
}
