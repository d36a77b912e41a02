/**
 * Options for hoard's worker threads (encoder, decoder, small-file writer, pack checker). Their
 * work is short-lived buffers, nearly all of it garbage within a batch: a small young generation
 * collects it sooner and keeps each thread's memory down (the default let each grow by tens of MB
 * on a kernel tree, at no measurable speed gain).
 */
import type { WorkerOptions } from 'node:worker_threads';

const YOUNG_MB = 4;

/** Worker options carrying `workerData`. */
export function workerOptions(workerData: unknown): WorkerOptions {
  return { workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
}
