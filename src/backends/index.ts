/** The explicit list of storage backends by URL scheme. */
import * as path from 'node:path';
import { HoardError } from '../core/errors.js';
import type { Backend } from '../core/storage/backend.js';
import { createLocalBackend } from './local/local-backend.js';

/** Parses a repository URL: "local:PATH" or a plain path. Other schemes are "usage" errors for now. */
export function parseRepositoryUrl(url: string): { scheme: 'local'; path: string } {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(url);
  if (!m || /^[a-z]$/i.test(m[1])) return { scheme: 'local', path: url };
  if (m[1] === 'local') {
    if (m[2] === '') throw new HoardError('usage', 'local: needs a path', { hint: 'e.g. --repo local:/srv/backups/repo' });
    return { scheme: 'local', path: m[2] };
  }
  throw new HoardError('usage', `repository scheme ${m[1]}: is not supported yet`, { hint: 'use a local path or local:PATH' });
}

/** Opens the backend for a repository URL. */
export function openBackend(url: string): Backend {
  const u = parseRepositoryUrl(url);
  return createLocalBackend(path.resolve(u.path));
}
