/** Content ids: SHA-256, written as 64 lowercase hex characters (restic-format.md §1). */
import { createHash, randomBytes, webcrypto } from 'node:crypto';

/** SHA-256 of the bytes as lowercase hex. */
export function hashId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * hashId on libuv's thread pool (WebCrypto's digest copies the bytes and hashes them off the
 * calling thread), so that hashing a large chunk overlaps with chunking the next one. Worth it
 * from a few hundred KiB: per call it costs a copy and a thread-pool round trip.
 */
export async function hashIdAsync(data: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}

/** 32 random bytes as lowercase hex (repository id). */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** True for a well-formed id (64 lowercase hex characters). */
export function isId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
