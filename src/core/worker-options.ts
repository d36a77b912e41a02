/**
 * Options for hoard's worker threads (encoder, decoder, small-file writer, pack checker). Their
 * work is short-lived buffers, nearly all of it garbage within a batch: a small young generation
 * collects it sooner and keeps each thread's memory down (the default let each grow by tens of MB
 * on a kernel tree, at no measurable speed gain).
 *
 * Workers inherit the process's `execArgv`; a program started as `node --input-type=module -e …`
 * would hand them `--input-type` and the evaluated text, and every worker would die at start (so
 * every restore failed in such a program). `workerExecArgv` drops the flags that only make sense for
 * the main script and keeps the rest (loaders such as `--import tsx`, memory limits).
 */
import { Worker, type WorkerOptions, workerData } from 'node:worker_threads';
import type { Key } from './crypto/crypto.js';

const YOUNG_MB = 4;

/** Flags about the main script's input that a worker must not inherit; the first four take a value. */
const EVAL_FLAGS = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const MAIN_ONLY = /^--(input-type|eval|print|test|watch|check|interactive)(=|$)|^-[ic]$/;

/**
 * `argv` without the flags that describe how the main script was given (eval text, input type),
 * or undefined when it holds none (the worker then inherits the process's flags as Node does).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] | undefined {
  const out: string[] = [];
  let dropped = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (EVAL_FLAGS.has(a)) {
      i++;
      dropped = true;
      continue;
    }
    if (MAIN_ONLY.test(a)) {
      dropped = true;
      continue;
    }
    out.push(a);
  }
  return dropped ? out : undefined;
}

let execArgv: string[] | undefined | null = null;

/**
 * A worker for `url` with `options` and the process's flags fit for a worker. Node refuses, in an
 * explicit list, per-process flags it would silently skip when inheriting (`--max-old-space-size`,
 * `--title`); those named in its refusal are dropped once and for all and the start is retried.
 */
export function startWorker(url: URL, options: WorkerOptions): Worker {
  if (execArgv === null) execArgv = workerExecArgv();
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const listed = /flags: (.*)$/.exec((e as Error).message)?.[1]?.split(', ');
    if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || !execArgv || !listed) throw e;
    execArgv = execArgv.filter((a) => !listed.includes(a));
    return new Worker(url, { ...options, execArgv });
  }
}

/** Worker options carrying the master key (as plain bytes) and `extra` in `workerData`. */
export function workerOptions(key: Key, extra: Record<string, unknown> = {}): WorkerOptions {
  return {
    workerData: { ...extra, key: { encrypt: key.encrypt, macK: key.macK, macR: key.macR } },
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
  };
}

/** Inside a worker made with workerOptions: the master key it was given. */
export function workerKey(): Key {
  const k = workerData.key as { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array };
  return { encrypt: Buffer.from(k.encrypt), macK: Buffer.from(k.macK), macR: Buffer.from(k.macR) };
}
