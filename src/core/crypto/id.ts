/** Content ids: SHA-256, written as 64 lowercase hex characters (restic-format.md §1). */
import { createHash, randomBytes } from 'node:crypto';

/** SHA-256 of the bytes as lowercase hex. */
export function hashId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** 32 random bytes as lowercase hex (repository id). */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}

/** True for a well-formed id (64 lowercase hex characters). */
export function isId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
