/**
 * zstd for blobs and unpacked files (restic-format.md §6). Decompression is bounded by `maxSize`
 * (the length the index declares for a blob): a frame that declares more is refused before memory
 * is allocated, and frames that declare nothing (or several frames) are decoded in steps into a
 * buffer that grows only as output is produced and never past `maxSize` + 1 bytes. zstd-napi's own
 * `Decompressor` grows without bound in that case (6 KB of hostile frames took 213 MiB), hence the
 * low-level DCtx calls here.
 */
import { Compressor } from 'zstd-napi';
import { createRequire } from 'node:module';
import type * as Binding from 'zstd-napi/binding.js';
import { HoardError } from '../errors.js';

/** zstd-napi's native binding (CommonJS, no ESM entry). */
const binding = createRequire(import.meta.url)('zstd-napi/binding') as typeof Binding;

/** restic's --compression modes. `off` stores data blobs uncompressed; metadata is still compressed. */
export type CompressionMode = 'auto' | 'max' | 'off';

const LEVELS: Record<Exclude<CompressionMode, 'off'>, number> = { auto: 3, max: 19 };
const compressors = new Map<number, Compressor>();
let dctx: Binding.DCtx | undefined;

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
 * Decompresses zstd frame(s). Fails with kind "corrupt" when the data is not zstd, is damaged or
 * truncated, or declares or yields more than `maxSize` bytes; memory stays within about `maxSize`.
 */
export function zstdDecompress(data: Uint8Array, maxSize: number): Buffer {
  const declared = frameContentSize(data);
  if (declared !== undefined && declared > maxSize) {
    throw new HoardError('corrupt', `zstd frame declares ${declared} bytes, more than the ${maxSize} expected`);
  }
  dctx ??= new binding.DCtx();
  try {
    // one frame that declares its size (what restic and hoard write): one call into an exact buffer
    if (declared !== undefined && binding.findFrameCompressedSize(data) === data.length) {
      const out = Buffer.allocUnsafe(declared);
      const n = dctx.decompress(out, data);
      if (n !== declared) throw new Error(`the frame yields ${n} bytes, its header says ${declared}`);
      return out;
    }
    return decompressSteps(dctx, data, maxSize);
  } catch (e) {
    dctx = undefined; // a failed context may hold state; start afresh
    if (e instanceof HoardError) throw e;
    throw new HoardError('corrupt', `zstd decompression failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Streaming decompression into a buffer that doubles as needed, up to `maxSize` + 1 bytes (one more means too big). */
function decompressSteps(d: Binding.DCtx, data: Uint8Array, maxSize: number): Buffer {
  d.reset(binding.ResetDirective.sessionOnly);
  let out = Buffer.allocUnsafe(Math.min(maxSize + 1, Math.max(64 * 1024, data.length * 4)));
  let produced = 0;
  let input = data;
  for (;;) {
    if (produced === out.length) {
      if (produced > maxSize) throw new HoardError('corrupt', `zstd data expands beyond ${maxSize} bytes`);
      const bigger = Buffer.allocUnsafe(Math.min(maxSize + 1, out.length * 2));
      out.copy(bigger, 0, 0, produced);
      out = bigger;
    }
    const [left, wrote, read] = d.decompressStream(out.subarray(produced), input);
    produced += wrote;
    input = input.subarray(read);
    if (produced > maxSize) throw new HoardError('corrupt', `zstd data expands beyond ${maxSize} bytes`);
    if (input.length === 0 && left === 0) return out.subarray(0, produced);
    if (wrote === 0 && read === 0 && produced < out.length) throw new HoardError('corrupt', 'zstd data is truncated');
  }
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
    case 1:
      return v[at];
    case 2:
      return v.readUInt16LE(at) + 256;
    case 4:
      return v.readUInt32LE(at);
    default:
      return Number(v.readBigUInt64LE(at));
  }
}
