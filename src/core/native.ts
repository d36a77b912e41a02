/**
 * hoard's optional native addon (native/*.c, built by `npm install` through node-gyp): the chunker's
 * hot loop (also on the thread pool), Poly1305, SHA-256 on the thread pool, nanosecond file times and the malloc arena limit. Absent when the build failed or was skipped; callers then use their
 * TypeScript or library code, which stays the reference (tests compare the two).
 */
import { createRequire } from 'node:module';

export interface NativeAddon {
  /** See native/chunker.c: returns how many cut offsets were written to `cuts`. */
  feed(tables: Int32Array, state: Int32Array, window: Uint8Array, data: Uint8Array, cuts: Int32Array): number;
  /** See native/chunker.c: feed on the thread pool; the arrays must be left alone until it settles (absent in older builds). */
  feedAsync?(
    tables: Int32Array,
    state: Int32Array,
    window: Uint8Array,
    data: Uint8Array,
    cuts: Int32Array,
  ): Promise<number>;
  /** See native/poly1305.c: writes the 16-byte tag of `msg` under the 32-byte one-time key r || s. */
  poly1305(key: Uint8Array, msg: Uint8Array, out: Uint8Array): void;
  /** See native/sha256.c: SHA-256 of 1 to 8 parts in order, on the thread pool, as hex (absent in older builds). */
  sha256?(parts: Uint8Array[]): Promise<string>;
  /** See native/times.c: futimens(fd) with (seconds, nanoseconds) pairs; throws with `code` (absent in older builds). */
  futimens?(fd: number, atimeS: number, atimeNs: number, mtimeS: number, mtimeNs: number): void;
  /** See native/times.c: utimensat(path, AT_SYMLINK_NOFOLLOW) (absent in older builds). */
  lutimens?(path: Buffer, atimeS: number, atimeNs: number, mtimeS: number, mtimeNs: number): void;
  /** See native/malloc.c: mallopt(M_ARENA_MAX, n) on glibc; true when it took (absent in older builds). */
  mallocArenas?(n: number): boolean;
}

let loaded: NativeAddon | null | undefined;

/** The addon, or null when it is not built (or is an older build without every function). Loaded once. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === undefined) {
    try {
      const m = createRequire(import.meta.url)('../../../build/Release/hoard_native.node') as Partial<NativeAddon>;
      loaded = typeof m.feed === 'function' && typeof m.poly1305 === 'function' ? (m as NativeAddon) : null;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/**
 * Caps glibc's malloc arenas at `n` for threads that have not allocated yet (native/malloc.c); the
 * CLI calls it first thing, before any worker starts. False when the addon or glibc is absent.
 * Not called by the library: a host program's allocator is its own business.
 */
export function limitMallocArenas(n: number): boolean {
  return nativeAddon()?.mallocArenas?.(n) ?? false;
}
