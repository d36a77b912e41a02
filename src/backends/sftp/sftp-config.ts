/** sftp: repository URLs (restic's forms) and the connection settings: user, port, key or password, known hosts. */
import { HoardError } from '../../core/index.js';

export interface SftpLocation {
  user?: string;
  host: string;
  port: number;
  /** Absolute, or relative to the user's home folder on the server. */
  path: string;
}

export interface SftpSettings {
  user?: string;
  port?: number;
  /** A private key (PEM/OpenSSH text). */
  privateKey?: string;
  passphrase?: string;
  password?: string;
  /** known_hosts text to check the server's key against (default: ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Instead of known_hosts: the server key's fingerprint, `SHA256:…` as ssh-keygen -l prints it. */
  hostKey?: string;
  /** An ssh-agent socket (default: SSH_AUTH_SOCK). */
  agent?: string;
}

/**
 * Parses `sftp:[user@]host:PATH` (PATH relative to the home folder unless it starts with `/`) or
 * `sftp://[user@]host[:port]/PATH` (relative; `//PATH` is absolute), as restic does.
 */
/** How messages name the repository: sftp:[USER@]HOST[:PORT]:PATH, with the user and port in effect. */
export function sftpWhere(
  loc: SftpLocation,
  s: Pick<SftpSettings, 'user' | 'port'> & { defaultUser?: string },
): string {
  const user = loc.user ?? s.user ?? s.defaultUser;
  const port = s.port ?? loc.port;
  return `sftp:${user ? `${user}@` : ''}${loc.host}${port === 22 ? '' : `:${port}`}:${loc.path}`;
}

export function parseSftpUrl(url: string): SftpLocation {
  const bad = () =>
    new HoardError('usage', `${url} is not an SFTP repository URL`, {
      hint: 'use sftp:user@host:/srv/repo or sftp://user@host:2222//srv/repo',
    });
  if (url.startsWith('sftp://')) {
    const m = /^sftp:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?\/(.+)$/.exec(url);
    if (!m || (m[3] && Number(m[3]) > 65535)) throw bad();
    let user: string | undefined;
    try {
      user = m[1] && decodeURIComponent(m[1]);
    } catch {
      throw bad();
    }
    return {
      user,
      host: m[2].replace(/^\[|\]$/g, ''),
      port: m[3] ? Number(m[3]) : 22,
      path: m[4].startsWith('/') ? m[4].replace(/^\/+/, '/') : m[4],
    };
  }
  const m = /^sftp:(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):(.+)$/.exec(url);
  if (!m) throw bad();
  return { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port: 22, path: m[3] };
}
