/**
 * Host key checking as OpenSSH does it: the server's key must be listed for the host (and port)
 * in known_hosts (plain or hashed `|1|salt|hash` names), or match a configured SHA256 fingerprint.
 */
import { createHash, createHmac } from 'node:crypto';
import { HoardError } from '../../core/index.js';

/** `SHA256:…` (unpadded base64), as ssh-keygen -l prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The names a host goes by in known_hosts. */
const namesFor = (host: string, port: number) => (port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`]);

function nameMatches(pattern: string, names: string[]): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    return names.some((n) => createHmac('sha1', Buffer.from(salt, 'base64')).update(n).digest('base64') === hash);
  }
  return pattern.split(',').some((p) => names.includes(p));
}

/**
 * Checks `keyBlob` for host:port. Throws kind "usage" with the fingerprint and what to do when the
 * host is unknown, and a loud error when known_hosts lists other keys for it (a changed key).
 */
export function checkHostKey(
  keyBlob: Buffer,
  host: string,
  port: number,
  o: { knownHosts?: string; hostKey?: string; file: string },
): void {
  const fp = fingerprint(keyBlob);
  if (o.hostKey) {
    if (o.hostKey.replace(/=+$/, '') === fp) return;
    throw new HoardError('usage', `the host key of ${host}:${port} is ${fp}, not the configured ${o.hostKey}`, {
      hint: 'someone may be intercepting the connection; check the server before changing sftp.host_key',
    });
  }
  const names = namesFor(host, port);
  const listed: Buffer[] = [];
  for (const line of (o.knownHosts ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    // comments, and @cert-authority / @revoked lines (not supported: such hosts need sftp.host_key)
    if (parts.length < 3 || parts[0].startsWith('#') || parts[0].startsWith('@')) continue;
    const [pattern, , b64] = parts;
    if (nameMatches(pattern, names)) listed.push(Buffer.from(b64, 'base64'));
  }
  if (listed.some((k) => k.equals(keyBlob))) return;
  if (listed.length) {
    throw new HoardError(
      'usage',
      `the host key of ${host}:${port} (${fp}) differs from the one in ${o.file}: it may have been replaced, or someone may be intercepting the connection`,
      { hint: `check with the server's administrator; if the change is expected, remove the old line from ${o.file}` },
    );
  }
  throw new HoardError('usage', `${host}:${port} is not a known host (its key is ${fp})`, {
    hint: `check the fingerprint with the server's administrator, then add it: ssh-keyscan -p ${port} ${host} >> ${o.file} (or set sftp.host_key: ${fp} in hoard.yaml)`,
  });
}
