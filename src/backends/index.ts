/** The explicit list of storage backends by URL scheme, and the settings that open them. */
import * as path from 'node:path';
import { type Backend, HoardError } from '../core/index.js';
import { createLocalBackend } from './local/local-backend.js';
import { type S3Location, type S3Settings, parseS3Url, s3Where } from './s3/s3-config.js';
import { type WrapSettings, wrapBackend } from './compose.js';
import { type SftpLocation, parseSftpUrl, sftpWhere } from './sftp/sftp-config.js';
import { sftpSettings, type SftpOptions } from './sftp/sftp-settings.js';
import { lazyBackend } from './lazy.js';

export type { S3Settings } from './s3/s3-config.js';
export type { WrapSettings } from './compose.js';
export type { SftpOptions } from './sftp/sftp-settings.js';

export type RepositoryUrl =
  | { scheme: 'local'; path: string }
  | { scheme: 's3'; s3: S3Location }
  | { scheme: 'sftp'; sftp: SftpLocation };

/** Parses a repository URL: a plain path, `local:PATH`, `s3:…` or `sftp:…` (restic's forms). */
export function parseRepositoryUrl(url: string): RepositoryUrl {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(url);
  if (!m || /^[a-z]$/i.test(m[1])) return { scheme: 'local', path: url };
  if (m[1] === 'local') {
    if (m[2] === '')
      throw new HoardError('usage', 'local: needs a path', { hint: 'e.g. --repo local:/srv/backups/repo' });
    return { scheme: 'local', path: m[2] };
  }
  if (m[1] === 's3') return { scheme: 's3', s3: parseS3Url(m[2]) };
  if (m[1] === 'sftp') return { scheme: 'sftp', sftp: parseSftpUrl(url) };
  throw new HoardError('usage', `repository scheme ${m[1]}: is not supported`, {
    hint: 'use a local path, local:PATH, s3:https://HOST/BUCKET[/PREFIX] or sftp:user@host:/path',
  });
}

export interface BackendSettings extends WrapSettings {
  s3?: S3Settings;
  sftp?: SftpOptions;
  /** Variables for AWS_* (and other backends' defaults). */
  vars?: NodeJS.ProcessEnv;
}

/** Opens the backend for a repository URL, with the retry, connection and rate wrappers. */
export function openBackend(url: string, s: BackendSettings = {}): Backend {
  const u = parseRepositoryUrl(url);
  let raw: Backend;
  if (u.scheme === 's3') {
    const loc = u.s3,
      settings = { vars: s.vars, ...s.s3 };
    raw = lazyBackend(s3Where(loc), async () => (await import('./s3/s3-backend.js')).createS3Backend(loc, settings));
  } else if (u.scheme === 'sftp') {
    const loc = u.sftp,
      settings = sftpSettings(s.sftp ?? {}, s.vars ?? {});
    raw = lazyBackend(sftpWhere(loc, settings), async () =>
      (await import('./sftp/sftp-backend.js')).createSftpBackend(loc, settings),
    );
  } else {
    raw = createLocalBackend(path.resolve(u.path));
  }
  // restic's habit: a few connections to a server; a local disk is not limited
  return wrapBackend(raw, { ...s, connections: s.connections ?? (u.scheme === 'local' ? Infinity : 8) });
}
