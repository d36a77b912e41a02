/** Key files (restic-format.md §4): plain JSON wrapping the master key with a password-derived key. */
import { randomBytes } from 'node:crypto';
import { HoardError } from '../errors.js';
import { DEFAULT_KDF, type KdfParams, type Key, deriveKey, open, seal } from '../crypto/crypto.js';
import { decodeJsonObject, goStringify } from './gojson.js';

export interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  data: Buffer;
}

/** Serializes as restic does (field order, json.Marshal, no newline). */
export function encodeKeyFile(k: KeyFile): Buffer {
  return Buffer.from(
    goStringify({
      created: k.created,
      username: k.username,
      hostname: k.hostname,
      kdf: k.kdf,
      N: k.N,
      r: k.r,
      p: k.p,
      salt: k.salt,
      data: k.data,
    }),
  );
}

/** Parses a key file; kind "corrupt" naming what is wrong. */
export function decodeKeyFile(raw: Buffer): KeyFile {
  const j = decodeJsonObject(raw, 'key file');
  if (j.kdf !== 'scrypt')
    throw new HoardError(
      'corrupt',
      `key file uses unsupported kdf ${typeof j.kdf === 'string' ? JSON.stringify(j.kdf.slice(0, 40)) : `(a ${typeof j.kdf})`}`,
    );
  const salt = b64(j.salt, 'salt');
  if (salt.length !== 64) throw new HoardError('corrupt', `key file salt must be 64 bytes, got ${salt.length}`);
  const num = (v: unknown, n: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new HoardError('corrupt', `key file field ${n} is not an integer`);
    return v;
  };
  return {
    created: String(j.created ?? ''),
    username: String(j.username ?? ''),
    hostname: String(j.hostname ?? ''),
    kdf: 'scrypt',
    N: num(j.N, 'N'),
    r: num(j.r, 'r'),
    p: num(j.p, 'p'),
    salt,
    data: b64(j.data, 'data'),
  };
}

function b64(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
    throw new HoardError('corrupt', `key file field ${name} is not base64`);
  }
  return Buffer.from(v, 'base64');
}

/** The master key JSON restic stores inside a key file. */
export function encodeMasterKey(k: Key): Buffer {
  return Buffer.from(goStringify({ mac: { k: k.macK, r: k.macR }, encrypt: k.encrypt }));
}

/** Parses master key JSON; kind "corrupt" when malformed. */
export function decodeMasterKey(pt: Buffer): Key {
  let j: { mac?: { k?: unknown; r?: unknown }; encrypt?: unknown };
  try {
    j = JSON.parse(pt.toString('utf8'));
  } catch {
    throw new HoardError('corrupt', 'master key is not valid JSON');
  }
  const k = b64(j?.mac?.k, 'mac.k'),
    r = b64(j?.mac?.r, 'mac.r'),
    e = b64(j?.encrypt, 'encrypt');
  if (k.length !== 16 || r.length !== 16 || e.length !== 32)
    throw new HoardError('corrupt', 'master key has wrong sizes');
  return { encrypt: e, macK: k, macR: r };
}

/**
 * Wraps `master` under `password`. Returns the key file; its bytes are encodeKeyFile(result).
 * `created` is a Go time string supplied by the caller (core reads no clock).
 */
export async function createKeyFile(
  master: Key,
  password: string,
  info: { created: string; username: string; hostname: string },
  params: KdfParams = DEFAULT_KDF,
): Promise<KeyFile> {
  const salt = randomBytes(64);
  const user = await deriveKey(password, salt, params);
  return { ...info, kdf: 'scrypt', ...params, salt, data: seal(user, encodeMasterKey(master)) };
}

/**
 * Tries to open a key file with `password`. Returns the master key, or undefined when the password
 * does not fit this key file (MAC mismatch). Other damage throws kind "corrupt".
 */
export async function openKeyFile(kf: KeyFile, password: string): Promise<Key | undefined> {
  const user = await deriveKey(password, kf.salt, { N: kf.N, r: kf.r, p: kf.p });
  let pt: Buffer;
  try {
    pt = open(user, kf.data);
  } catch (e) {
    if (e instanceof HoardError && e.message === 'ciphertext verification failed') return undefined;
    throw e;
  }
  return decodeMasterKey(pt);
}
