/** `hoard config check`: every secret reference of hoard.yaml resolved once (values never shown), and inline secrets flagged. */
import { isHoardError } from '../core/index.js';
import { type ConfigPath, isReference } from '../config/index.js';
import { type Project, projectSecret } from './project.js';

export interface SecretCheck {
  key: string;
  where: string;
  /** "ok", "missing" (the reference does not resolve) or "inline" (a secret written into the file). */
  state: 'ok' | 'missing' | 'inline';
  message?: string;
  fix?: string;
}

/** The secret-bearing keys of the config, with their paths. */
function secretKeys(p: Project): [ConfigPath, string][] {
  const c = p.config;
  const out: [ConfigPath, string][] = [];
  for (const [n, r] of Object.entries(c.repositories ?? {}))
    if (r.password !== undefined) out.push([['repositories', n, 'password'], r.password]);
  for (const [n, s] of Object.entries(c.sources ?? {}))
    if (s.type === 'postgres' || s.type === 'mysql') out.push([['sources', n, 'url'], s.url]);
  (c.notifications ?? []).forEach((ch, i) =>
    out.push([['notifications', i, ch.type === 'email' ? 'smtp' : 'url'], ch.type === 'email' ? ch.smtp : ch.url]),
  );
  return out;
}

/** A URL with a password in it, or a repository password written as a value. */
function looksSecret(path: ConfigPath, value: string): boolean {
  if (path[path.length - 1] === 'password') return true;
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i.test(value);
}

/** Resolves every reference; never throws for a bad one (it is reported). */
export async function checkSecrets(p: Project): Promise<SecretCheck[]> {
  const out: SecretCheck[] = [];
  for (const [path, value] of secretKeys(p)) {
    const key = path.join('.');
    const where = p.loaded?.where(path) ?? 'hoard.yaml';
    if (!isReference(value)) {
      out.push(
        looksSecret(path, value)
          ? {
              key,
              where,
              state: 'inline',
              message: 'a secret is written into the file',
              fix: 'move it to an environment variable or file and write env:NAME or file:PATH',
            }
          : { key, where, state: 'ok' },
      );
      continue;
    }
    try {
      await projectSecret(p, value, path);
      out.push({ key, where, state: 'ok' });
    } catch (e) {
      if (!isHoardError(e)) throw e;
      out.push({ key, where, state: 'missing', message: e.message.replace(/^\S+ \S+: /, ''), fix: e.hint });
    }
  }
  return out;
}
