/**
 * Repository upkeep as use cases, for every door: check (under a shared lock), unlock (stale
 * locks, or all), and the keys (list, add, remove, change the password: under an exclusive lock).
 * Each opens the project's repository without its index and closes it whatever happens.
 */
import {
  addKey,
  type CheckOptions,
  type CheckSummary,
  checkRepository,
  HoardError,
  type KeyInfo,
  listKeys,
  removeKey,
  removeLocks,
} from '../core/index.js';
import { type Env, identity, lockOwner } from './environment.js';
import type { Project } from './project.js';
import { withLock, withRepository } from './repository-access.js';

/** `hoard check`: the summary (damage is reported in it, not thrown). */
export function checkProject(env: Env, p: Project, o: CheckOptions = {}): Promise<CheckSummary> {
  return withRepository(env, { project: p, index: false, signal: o.signal }, (repo) =>
    withLock(env, repo, false, () => checkRepository(repo, o)),
  );
}

/** `hoard unlock`: removes stale locks (every lock with `removeAll`); the names removed. */
export function unlockProject(env: Env, p: Project, o: { removeAll?: boolean } = {}): Promise<string[]> {
  return withRepository(env, { project: p, index: false }, (repo) =>
    removeLocks(repo, { clock: env.clock, owner: lockOwner(env), removeAll: o.removeAll === true }),
  );
}

/** The repository's keys; `current` marks the one this password opened. */
export function listProjectKeys(env: Env, p: Project): Promise<KeyInfo[]> {
  return withRepository(env, { project: p, index: false }, (repo) => listKeys(repo));
}

/** Adds a key for the password `newPassword` gives (asked after the repository opened); its id. */
export function addProjectKey(env: Env, p: Project, newPassword: () => Promise<string>): Promise<string> {
  return withRepository(env, { project: p, index: false }, async (repo) => {
    const pw = await newPassword();
    return withLock(env, repo, true, () => addKey(repo, pw, identity(env)));
  });
}

/** Removes the one key whose id starts with `prefix` (kind "not-found" or "usage" otherwise); its id. */
export function removeProjectKey(env: Env, p: Project, prefix: string): Promise<string> {
  return withRepository(env, { project: p, index: false }, async (repo) => {
    const m = (await listKeys(repo)).filter((k) => k.id.startsWith(prefix));
    if (m.length !== 1)
      throw new HoardError(
        m.length ? 'usage' : 'not-found',
        m.length ? `key prefix ${prefix} is ambiguous` : `no key ${prefix}`,
        { hint: 'see `hoard key list`' },
      );
    await withLock(env, repo, true, () => removeKey(repo, m[0].id));
    return m[0].id;
  });
}

/** Changes the password: adds a key for the new one, then removes the key in use; both ids. */
export function changeProjectPassword(
  env: Env,
  p: Project,
  newPassword: () => Promise<string>,
): Promise<{ added: string; removed: string }> {
  return withRepository(env, { project: p, index: false }, async (repo) => {
    const pw = await newPassword();
    return withLock(env, repo, true, async () => {
      const added = await addKey(repo, pw, identity(env));
      await repo.backend.remove({ type: 'key', name: repo.keyId });
      return { added, removed: repo.keyId };
    });
  });
}
