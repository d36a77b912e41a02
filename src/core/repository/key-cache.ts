/**
 * A per-process cache of opened key files, so that a long-running process (the API server, the
 * scheduler, a library user) pays scrypt once per key file and password instead of once per
 * request. Entries are keyed by a hash of the key file's bytes and the password: a changed key
 * file or password misses; nothing is ever served for a key file that no longer opens.
 */
import { createHash } from 'node:crypto';
import type { Key } from '../crypto/crypto.js';

export class KeyCache {
  private readonly entries = new Map<string, Key>();

  constructor(private readonly max = 16) {}

  private static id(keyFile: Buffer, password: string): string {
    return createHash('sha256').update(keyFile).update('\0').update(password).digest('hex');
  }

  get(keyFile: Buffer, password: string): Key | undefined {
    return this.entries.get(KeyCache.id(keyFile, password));
  }

  set(keyFile: Buffer, password: string, key: Key): void {
    const id = KeyCache.id(keyFile, password);
    this.entries.delete(id);
    this.entries.set(id, key);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
