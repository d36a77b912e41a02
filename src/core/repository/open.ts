/** Creating and opening repositories, and managing their key files (restic-format.md §4, §5). */
import { HoardError, isHoardError } from '../errors.js';
import { type KdfParams, DEFAULT_KDF, type Key, open, randomKey, seal } from '../crypto/crypto.js';
import { hashId, randomId } from '../crypto/id.js';
import type { Backend } from '../storage/backend.js';
import { decodeConfig, encodeConfig } from '../format/config.js';
import { createKeyFile, decodeKeyFile, encodeKeyFile, openKeyFile, type KeyFile } from '../format/key-file.js';
import { randomPolynomial } from '../chunker/polynomial.js';
import { Repository, type RepositoryOptions } from './repository.js';
import type { KeyCache } from './key-cache.js';

/** Who is acting, for key files and locks; supplied by the caller (core reads no environment). */
export interface Identity {
  username: string;
  hostname: string;
  /** Go-formatted current time, for `created`. */
  now: string;
}

export interface InitOptions extends RepositoryOptions {
  version?: 1 | 2;
  kdf?: KdfParams;
  /** The chunker polynomial (default: a random irreducible one, as restic picks). Tests fix it for repeatable chunking. */
  chunkerPolynomial?: bigint;
}

/** restic tries at most this many key files. */
const MAX_KEYS_TRIED = 20;

/** Creates a new repository. Fails with kind "io" if one already exists at the location. */
export async function initRepository(
  backend: Backend,
  password: string,
  who: Identity,
  opts: InitOptions = {},
): Promise<Repository> {
  if (password === '')
    throw new HoardError('usage', 'an empty password is not allowed', {
      hint: 'set HOARD_PASSWORD or HOARD_PASSWORD_FILE',
    });
  if (await backend.exists()) {
    throw new HoardError('io', `a repository already exists at ${backend.location}`, {
      hint: 'use it as it is, or choose another location',
    });
  }
  await backend.create();
  const master = randomKey();
  const kf = await createKeyFile(
    master,
    password,
    { created: who.now, username: who.username, hostname: who.hostname },
    opts.kdf ?? DEFAULT_KDF,
  );
  const kfBytes = encodeKeyFile(kf);
  const keyId = hashId(kfBytes);
  const config = {
    version: opts.version ?? 2,
    id: randomId(),
    chunkerPolynomial: opts.chunkerPolynomial ?? randomPolynomial(),
  };
  // Key first, config last: a location with a config is a repository, so it must be openable.
  await backend.save({ type: 'key', name: keyId }, kfBytes);
  await backend.save({ type: 'config', name: '' }, seal(master, encodeConfig(config)));
  return new Repository(backend, master, config, keyId, opts);
}

/**
 * Opens a repository: tries key files until one opens with the password, then reads the config.
 * Kinds: "repo-missing" (no config), "wrong-password" (no key file fits), "corrupt" (damaged key or config).
 * The index is not loaded; call repo.loadIndex().
 */
export async function openRepository(
  backend: Backend,
  password: string,
  opts: RepositoryOptions & { keyHint?: string; keyCache?: KeyCache } = {},
): Promise<Repository> {
  let cfgRaw: Buffer;
  try {
    cfgRaw = await backend.load({ type: 'config', name: '' });
  } catch (e) {
    if (isHoardError(e, 'not-found')) {
      throw new HoardError('repo-missing', `no repository at ${backend.location}`, {
        hint: 'create one with `hoard init`, or check --repo / HOARD_REPOSITORY',
      });
    }
    throw e;
  }
  const { key, keyId } = await findKey(backend, password, opts.keyHint, opts.keyCache);
  let config: ReturnType<typeof decodeConfig>;
  try {
    config = decodeConfig(open(key, cfgRaw));
  } catch (e) {
    throw new HoardError('corrupt', `repository config is damaged: ${(e as Error).message}`, {
      hint: 'restore the config file from a copy of this repository',
      cause: e,
    });
  }
  return new Repository(backend, key, config, keyId, opts);
}

async function findKey(
  backend: Backend,
  password: string,
  hint?: string,
  cache?: KeyCache,
): Promise<{ key: Key; keyId: string }> {
  const names: string[] = [];
  for await (const f of backend.list('key')) names.push(f.name);
  if (names.length === 0) throw new HoardError('corrupt', `the repository at ${backend.location} has no key files`);
  names.sort((a, b) => (a === hint ? -1 : b === hint ? 1 : 0));
  let damaged: HoardError | undefined;
  for (const name of names.slice(0, MAX_KEYS_TRIED)) {
    let kf: KeyFile;
    try {
      const bytes = await backend.load({ type: 'key', name });
      const cached = cache?.get(bytes, password);
      if (cached) return { key: cached, keyId: name };
      kf = decodeKeyFile(bytes);
      const key = await openKeyFile(kf, password);
      if (key) {
        cache?.set(bytes, password, key);
        return { key, keyId: name };
      }
    } catch (e) {
      if (!isHoardError(e, 'corrupt')) throw e;
      damaged = new HoardError('corrupt', `key file ${name.slice(0, 8)} is damaged: ${e.message}`, { cause: e });
    }
  }
  if (damaged && names.length === 1) throw damaged;
  throw new HoardError('wrong-password', 'wrong password: no key in the repository fits it', {
    hint: 'check HOARD_PASSWORD, HOARD_PASSWORD_FILE or HOARD_PASSWORD_COMMAND',
  });
}

/** Summary of a key file for `key list`. */
export interface KeyInfo {
  id: string;
  current: boolean;
  username: string;
  hostname: string;
  created: string;
}

/** Lists key files; damaged ones are skipped. */
export async function listKeys(repo: Repository): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for await (const f of repo.backend.list('key')) {
    try {
      const kf = decodeKeyFile(await repo.backend.load({ type: 'key', name: f.name }));
      out.push({
        id: f.name,
        current: f.name === repo.keyId,
        username: kf.username,
        hostname: kf.hostname,
        created: kf.created,
      });
    } catch {
      /* a damaged key file is not a usable key */
    }
  }
  return out;
}

/** Adds a key file wrapping the repository's master key under a new password; returns its id. */
export async function addKey(
  repo: Repository,
  password: string,
  who: Identity,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<string> {
  if (password === '') throw new HoardError('usage', 'an empty password is not allowed');
  const bytes = encodeKeyFile(
    await createKeyFile(repo.key, password, { created: who.now, username: who.username, hostname: who.hostname }, kdf),
  );
  const id = hashId(bytes);
  await repo.backend.save({ type: 'key', name: id }, bytes);
  return id;
}

/** Removes a key file. Refuses to remove the key in use (kind "usage"); "not-found" when absent. */
export async function removeKey(repo: Repository, id: string): Promise<void> {
  if (id === repo.keyId)
    throw new HoardError('usage', 'refusing to remove the key in use', {
      hint: 'open the repository with another password first',
    });
  await repo.backend.stat({ type: 'key', name: id });
  await repo.backend.remove({ type: 'key', name: id });
}
