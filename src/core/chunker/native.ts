/**
 * The optional C hot loop (native/chunker.c, built by `npm install` through node-gyp). Absent when
 * the build failed or was skipped: callers then use the TypeScript loop, which is the reference.
 */
import { createRequire } from 'node:module';

export interface NativeChunker {
  /** See native/chunker.c: returns how many cut offsets were written to `cuts`. */
  feed(tables: Int32Array, state: Int32Array, window: Uint8Array, data: Uint8Array, cuts: Int32Array): number;
}

let loaded: NativeChunker | null | undefined;

/** The native chunker, or null when it is not built. Loaded once. */
export function nativeChunker(): NativeChunker | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('../../../../build/Release/hoard_native.node') as NativeChunker;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
