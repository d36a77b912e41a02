/**
 * restic's authenticated encryption: AES-256-CTR + Poly1305-AES (restic-format.md §3).
 * Object layout: IV(16) || ciphertext || MAC(16); the MAC covers the ciphertext only and its
 * one-time key is r || AES-128_k(IV).
 */
import {
  type Cipher,
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt as scryptCb,
  timingSafeEqual,
} from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { HoardError } from '../errors.js';
import { nativeAddon } from '../native.js';

/** 64 bytes of key material split as restic does. All parts must be non-zero. */
export interface Key {
  encrypt: Buffer; // 32 bytes, AES-256-CTR
  macK: Buffer; // 16 bytes, AES-128 key for the nonce
  macR: Buffer; // 16 bytes, Poly1305 r (clamped by poly1305 itself)
}

/** Bytes an encrypted object adds to its plaintext. */
export const OVERHEAD = 32;

/** A fresh random master key (r stored clamped, as restic 0.14 does). */
export function randomKey(): Key {
  const b = randomBytes(64);
  const macR = Buffer.from(b.subarray(48, 64));
  clampR(macR);
  return { encrypt: Buffer.from(b.subarray(0, 32)), macK: Buffer.from(b.subarray(32, 48)), macR };
}

/** Splits 64 bytes of derived key material into a Key (user key from scrypt). */
export function keyFromBytes(b: Uint8Array): Key {
  if (b.length !== 64) throw new HoardError('corrupt', `key material must be 64 bytes, got ${b.length}`);
  const buf = Buffer.from(b);
  return { encrypt: buf.subarray(0, 32), macK: buf.subarray(32, 48), macR: buf.subarray(48, 64) };
}

/** True when every part of the key is non-zero (restic rejects keys with a zero part). */
export function keyValid(k: Key): boolean {
  return [k.encrypt, k.macK, k.macR].every((p) => p.some((x) => x !== 0));
}

function clampR(r: Buffer): void {
  r[3] &= 0x0f;
  r[7] &= 0x0f;
  r[11] &= 0x0f;
  r[15] &= 0x0f;
  r[4] &= 0xfc;
  r[8] &= 0xfc;
  r[12] &= 0xfc;
}

/** One AES-128-ECB cipher per MAC key: ECB without padding keeps no state between update() calls. */
const nonceCiphers = new WeakMap<Buffer, Cipher>();

function macOf(k: Key, nonce: Uint8Array, ct: Uint8Array): Buffer {
  let e = nonceCiphers.get(k.macK);
  if (!e) {
    e = createCipheriv('aes-128-ecb', k.macK, null);
    e.setAutoPadding(false);
    nonceCiphers.set(k.macK, e);
  }
  const s = e.update(nonce);
  const oneTime = Buffer.allocUnsafe(32);
  k.macR.copy(oneTime, 0);
  s.copy(oneTime, 16);
  return poly1305Tag(oneTime, ct);
}

const addon = nativeAddon();

/** Poly1305 of `msg` under the one-time key r || s: native when built, @noble/ciphers otherwise. */
export function poly1305Tag(oneTimeKey: Uint8Array, msg: Uint8Array, useNative = true): Buffer {
  if (addon && useNative) {
    const out = Buffer.allocUnsafe(16);
    addon.poly1305(oneTimeKey, msg, out);
    return out;
  }
  return Buffer.from(poly1305(msg, oneTimeKey));
}

/** Computes the MAC as restic does (exported for test vectors). */
export function poly1305Aes(k: Key, nonce: Uint8Array, msg: Uint8Array): Buffer {
  return macOf(k, nonce, msg);
}

/** IVs are cut from a pool of random bytes: one call to the CSPRNG per 256 objects. */
let ivPool = Buffer.alloc(0);
function freshIv(): Buffer {
  for (;;) {
    if (ivPool.length < 16) ivPool = randomBytes(4096);
    const iv = ivPool.subarray(0, 16);
    ivPool = ivPool.subarray(16);
    if (iv.some((x) => x !== 0)) return iv;
  }
}

/** Encrypts and authenticates `plaintext` under `k` with a fresh random IV. */
export function seal(k: Key, plaintext: Uint8Array): Buffer {
  const iv = freshIv();
  const out = Buffer.allocUnsafe(plaintext.length + OVERHEAD);
  iv.copy(out, 0);
  const c = createCipheriv('aes-256-ctr', k.encrypt, iv);
  const n = c.update(plaintext).copy(out, 16);
  c.final();
  const ct = out.subarray(16, 16 + n);
  macOf(k, iv, ct).copy(out, 16 + n);
  return out;
}

/**
 * Verifies and decrypts an object. Fails with kind "corrupt" (message "ciphertext verification
 * failed") before decrypting when the MAC does not match, the object is shorter than 32 bytes or
 * the IV is all zero. Callers that try several keys (key files) treat that as "not this key".
 */
export function open(k: Key, obj: Uint8Array): Buffer {
  if (obj.length < OVERHEAD) throw new HoardError('corrupt', `encrypted object too short (${obj.length} bytes)`);
  const iv = obj.subarray(0, 16);
  if (iv.every((x) => x === 0)) throw new HoardError('corrupt', 'encrypted object has an all-zero IV');
  const ct = obj.subarray(16, obj.length - 16);
  const tag = obj.subarray(obj.length - 16);
  if (!timingSafeEqual(macOf(k, iv, ct), tag)) throw new HoardError('corrupt', 'ciphertext verification failed');
  const d = createDecipheriv('aes-256-ctr', k.encrypt, iv);
  const pt = d.update(ct);
  d.final();
  return pt;
}

/** scrypt cost parameters as stored in key files. */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/** Default parameters for new key files (restic's usual N and r; p = 1 keeps unlock fast). */
export const DEFAULT_KDF: KdfParams = { N: 32768, r: 8, p: 1 };

/** Largest scrypt work N·r·p accepted: 256× restic's defaults, a few seconds; more is damage or hostile. */
const MAX_KDF_WORK = 2 ** 26;

/**
 * Checks scrypt parameters as restic does (simple-scrypt Params.Check: N a power of two, bounded
 * memory), and bounds the work so that a damaged key file cannot stall an unlock; kind "corrupt".
 */
export function checkKdfParams(p: KdfParams): void {
  const ok =
    Number.isInteger(p.N) &&
    Number.isInteger(p.r) &&
    Number.isInteger(p.p) &&
    p.N > 1 &&
    p.N <= 2 ** 22 &&
    (p.N & (p.N - 1)) === 0 &&
    p.r >= 1 &&
    p.p >= 1 &&
    p.r * p.p < 2 ** 30 &&
    p.N <= (2 ** 31 - 1) / 128 / p.r &&
    p.N * p.r * p.p <= MAX_KDF_WORK;
  if (!ok) throw new HoardError('corrupt', `invalid scrypt parameters N=${p.N} r=${p.r} p=${p.p}`);
}

/** Derives the 64-byte user key from a password (UTF-8) and a 64-byte salt. */
export function deriveKey(password: string | Uint8Array, salt: Uint8Array, p: KdfParams): Promise<Key> {
  checkKdfParams(p);
  const maxmem = 128 * p.r * (p.N + p.p + 2) + 16 * 1024 * 1024;
  const failed = (err: Error) =>
    new HoardError('corrupt', `scrypt refused the key file's parameters N=${p.N} r=${p.r} p=${p.p}: ${err.message}`, {
      cause: err,
    });
  return new Promise((resolve, reject) => {
    try {
      scryptCb(password, salt, 64, { N: p.N, r: p.r, p: p.p, maxmem }, (err, dk) => {
        if (err) reject(failed(err));
        else resolve(keyFromBytes(dk));
      });
    } catch (e) {
      reject(failed(e as Error));
    }
  });
}
