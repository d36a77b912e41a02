/**
 * Restored items' access and modification times, to the nanosecond. Node's futimes and lutimes take
 * seconds as a double (about a quarter of a microsecond at today's dates), so the native addon sets
 * them with futimens/utimensat when it is built; without it the times are right to the microsecond.
 */
import * as fs from 'node:fs';
import { parseGoTime } from '../format/time.js';
import { nativeAddon } from '../native.js';

/** A point in time as whole seconds since the epoch (negative before 1970) and nanoseconds 0–999,999,999. */
export interface FileTime {
  s: number;
  ns: number;
}

const BILLION = 1_000_000_000n;

/** The snapshot's time string as a FileTime; the epoch for a string that does not parse. */
export function fileTime(goTime: string): FileTime {
  let t: bigint;
  try {
    t = parseGoTime(goTime).ns;
  } catch {
    return { s: 0, ns: 0 };
  }
  let s = t / BILLION,
    ns = t % BILLION;
  if (ns < 0n) {
    s -= 1n;
    ns += BILLION;
  }
  return { s: Number(s), ns: Number(ns) };
}

/**
 * Seconds for Node's futimes with microsecond accuracy: biased by half a microsecond so that the
 * float → timespec truncation lands on the right microsecond.
 */
const seconds = (t: FileTime): number => t.s + (Math.floor(t.ns / 1000) + 0.5) / 1e6;

/** Sets the times of the item open as `fd`. Throws what futimens throws (with `code`). */
export function setTimesSync(fd: number, atime: FileTime, mtime: FileTime): void {
  const addon = nativeAddon();
  if (addon?.futimens) addon.futimens(fd, atime.s, atime.ns, mtime.s, mtime.ns);
  else fs.futimesSync(fd, seconds(atime), seconds(mtime));
}

/** Sets the times of the symlink at `path` itself (never what it points to). */
export async function setLinkTimes(path: Buffer, atime: FileTime, mtime: FileTime): Promise<void> {
  const addon = nativeAddon();
  if (addon?.lutimens) addon.lutimens(path, atime.s, atime.ns, mtime.s, mtime.ns);
  else await fs.promises.lutimes(path, seconds(atime), seconds(mtime));
}
