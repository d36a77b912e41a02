/** The chunker's view of the native addon (src/core/native.ts): just its hot loop. */
import { nativeAddon } from '../native.js';

export interface NativeChunker {
  /** See native/chunker.c: returns how many cut offsets were written to `cuts`. */
  feed(tables: Int32Array, state: Int32Array, window: Uint8Array, data: Uint8Array, cuts: Int32Array): number;
  /** The same on libuv's thread pool (absent in older builds). */
  feedAsync?(
    tables: Int32Array,
    state: Int32Array,
    window: Uint8Array,
    data: Uint8Array,
    cuts: Int32Array,
  ): Promise<number>;
}

/** The native chunker, or null when the addon is not built. */
export function nativeChunker(): NativeChunker | null {
  return nativeAddon();
}
