/**
 * zstd for blobs and unpacked files (restic-format.md §6). Decompression is bounded: a frame
 * that declares more than `maxSize` bytes is refused before memory is allocated for it.
 */
import { Compressor, Decompressor } from 'zstd-napi';
import { HoardError } from '../errors.js';

/** restic's --compression modes. `off` stores data blobs uncompressed; metadata is still compressed. */
export type CompressionMode = 'auto' | 'max' | 'off';

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 19 };
const compressors = new Map<number, Compressor>();
let decompressor: Decompressor | undefined;

/** Compresses one buffer into one zstd frame (content size present, no checksum). */
export function zstdCompress(data: Uint8Array, mode: Exclude<CompressionMode, 'off'> = 'auto'): Buffer {
  const level = LEVELS[mode];
  let c = compressors.get(level);
  if (!c) {
    c = new Compressor();
    c.setParameters({ compressionLevel: level, checksumFlag: false, contentSizeFlag: true });
    compressors.set(level, c);
  }
  return c.compress(data);
}

/**
 * Decompresses zstd frame(s). Fails with kind "corrupt" when the data is not zstd, is damaged, or
 * declares or yields more than `maxSize` bytes.
 */
export function zstdDecompress(data: Uint8Array, maxSize: number): Buffer {
  const declared = frameContentSize(data);
  if (declared !== undefined && declared > maxSize) {
    throw new HoardError('corrupt', `zstd frame declares ${declared} bytes, more than the ${maxSize} expected`);
  }
  decompressor ??= new Decompressor();
  let out: Buffer;
  try {
    out = decompressor.decompress(data);
  } catch (e) {
    decompressor = undefined; // a failed context may hold state; start afresh
    throw new HoardError('corrupt', `zstd decompression failed: ${(e as Error).message}`, { cause: e });
  }
  if (out.length > maxSize) throw new HoardError('corrupt', `zstd data expands beyond ${maxSize} bytes`);
  return out;
}

/** The content size a zstd frame header declares, or undefined when absent or not a zstd frame. */
export function frameContentSize(d: Uint8Array): number | undefined {
  if (d.length < 6 || d[0] !== 0x28 || d[1] !== 0xb5 || d[2] !== 0x2f || d[3] !== 0xfd) return undefined;
  const fhd = d[4];
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) return undefined;
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (d.length < at + fcsBytes) return undefined;
  const v = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  switch (fcsBytes) {
    case 1: return v[at];
    case 2: return v.readUInt16LE(at) + 256;
    case 4: return v.readUInt32LE(at);
    default: return Number(v.readBigUInt64LE(at));
  }
}
