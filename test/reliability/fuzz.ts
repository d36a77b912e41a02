/**
 * The fuzz runner: feeds each target `cases` inputs (its seeds, then mutations of them and pure
 * noise, from a seeded random source) and counts what happened. A crash is a thrown value the target
 * does not accept as a clean rejection; a hang is a case slower than HANG_MS (synchronous parsers
 * cannot be interrupted, so they are timed; asynchronous ones are also cut off at that bound).
 * fuzz-run.ts is the long form (npm run fuzz).
 */
import { prng } from '../helpers/data.js';
import { mutate } from './mutate.js';
import type { FuzzTarget } from './fuzz-targets.js';

export const HANG_MS = 5000;

export interface FuzzFigures {
  target: string;
  cases: number;
  accepted: number;
  rejected: number;
  crashes: string[];
  hangs: string[];
  slowestMs: number;
}

const describe = (e: unknown) =>
  (e instanceof Error
    ? `${e.constructor.name}${'kind' in e ? `(${String(e.kind)})` : ''}: ${e.message}`
    : String(e)
  ).slice(0, 300);
const sample = (b: Buffer) =>
  b.length > 120 ? `${b.subarray(0, 120).toString('hex')}… (${b.length} bytes)` : b.toString('hex');

/** Runs one target for `cases` inputs. */
export async function fuzzTarget(t: FuzzTarget, cases: number, seed = 1): Promise<FuzzFigures> {
  const r = prng(seed);
  const seeds = await t.seeds();
  const f: FuzzFigures = { target: t.name, cases: 0, accepted: 0, rejected: 0, crashes: [], hangs: [], slowestMs: 0 };
  for (let i = 0; i < cases; i++) {
    const s = seeds[i % seeds.length];
    const input = i < seeds.length ? s.bytes : mutate(r, s.bytes, s.json);
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => t.run(input)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new HangError()), HANG_MS);
        }),
      ]);
      f.accepted++;
    } catch (e) {
      if (e instanceof HangError) f.hangs.push(`case ${i}: no answer in ${HANG_MS} ms; input ${sample(input)}`);
      else if (t.clean(e)) f.rejected++;
      else f.crashes.push(`case ${i}: ${describe(e)}; input ${sample(input)}`);
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    f.slowestMs = Math.max(f.slowestMs, ms);
    if (ms > HANG_MS && !f.hangs.some((h) => h.startsWith(`case ${i}:`)))
      f.hangs.push(`case ${i}: took ${ms.toFixed(0)} ms; input ${sample(input)}`);
    f.cases++;
  }
  return f;
}

class HangError extends Error {}

/** One line of figures for a target. */
export function figuresLine(f: FuzzFigures): string {
  return `${f.target.padEnd(22)} ${String(f.cases).padStart(7)} cases  ${String(f.accepted).padStart(6)} accepted  ${String(f.rejected).padStart(7)} rejected cleanly  ${f.crashes.length} crashes  ${f.hangs.length} hangs  slowest ${f.slowestMs.toFixed(0)} ms`;
}
