/** What the restore's small-file writer sends its workers: jobs, and their stored blobs in one transferred buffer. */
import type { ErrorKind } from '../errors.js';
import type { BufferPool } from '../repository/encoder-batch.js';
import type { ItemMeta } from './item-meta.js';

/** One stored blob of a file: what decodeBlob needs, and its byte count in the batch. */
export interface StoredBlobRef {
  id: string;
  pack: string;
  uncompressedLength?: number;
  length: number;
}

/**
 * One file to write, with its metadata. Paths are latin1 strings of the path bytes (lossless for any
 * bytes), named through a folder the main thread holds open until the job settles (held-folder.ts).
 */
export interface SmallFileJob extends ItemMeta {
  tmp: string;
  dest: string;
  blobs: StoredBlobRef[];
}

export interface SmallFileBatch {
  jobs: SmallFileJob[];
  bytes: Uint8Array<ArrayBuffer>;
}

/** The worker's answer to a batch: per job, its result; `input` is the batch's buffer, sent back for reuse. */
export interface SmallFileReply {
  results: SmallFileResult[];
  input: ArrayBuffer;
}

/** Per job: bytes written, or the error's kind ("corrupt" for damaged data, else "io") and message. */
export type SmallFileResult = { bytes: number } | { kind: ErrorKind; message: string };

/** Packs jobs and the stored bytes of their blobs, in order (parts[i] belongs to the i-th blob overall), in a buffer from `pool` if given. */
export function packBatch(jobs: SmallFileJob[], parts: Uint8Array[], pool?: BufferPool): SmallFileBatch {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const bytes = pool ? pool.take(total) : new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.byteLength;
  }
  return { jobs, bytes };
}

/** For each job, views of its blobs' stored bytes in a received batch. */
export function splitBatch(b: SmallFileBatch): Uint8Array[][] {
  let at = 0;
  return b.jobs.map((j) => j.blobs.map((r) => b.bytes.subarray(at, (at += r.length))));
}
