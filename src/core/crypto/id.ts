/** Content ids: SHA-256, written as 64 lowercase hex characters (restic-format.md §1). */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { nativeAddon } from '../native.js';

/** SHA-256 of the bytes as lowercase hex. */
export function hashId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** hashId of the concatenation of `parts`, without concatenating them. */
export function hashIdOfParts(parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * hashIdOfParts on libuv's thread pool, so that hashing a large chunk overlaps with chunking the
 * next one: the native addon hashes the caller's bytes in place (they must not change until it
 * settles); without it, WebCrypto's digest copies them first. Worth it from a few hundred KiB:
 * per call it costs a thread-pool round trip.
 */
export async function hashIdAsync(parts: readonly Uint8Array[]): Promise<string> {
  const sha256 = nativeAddon()?.sha256;
  if (sha256 && parts.length <= 8) return sha256([...parts]);
  const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
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
