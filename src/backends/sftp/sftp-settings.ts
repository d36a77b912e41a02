/**
 * What opens an SFTP connection, from hoard.yaml's `sftp:` settings and the environment: the key
 * (a file, else the usual ~/.ssh/id_* files, else ssh-agent), or a password, and the known_hosts
 * file (default ~/.ssh/known_hosts) or a fingerprint.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HoardError } from '../../core/index.js';
import type { SftpSettings } from './sftp-config.js';

export interface SftpOptions {
  user?: string;
  port?: number;
  /** A private key file. */
  keyFile?: string;
  passphrase?: string;
  password?: string;
  knownHostsFile?: string;
  hostKey?: string;
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new HoardError(
      'usage',
      `cannot read the ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { hint: `check sftp.${what === 'SSH key' ? 'key' : 'known_hosts'} in hoard.yaml` },
    );
  }
}

export function sftpSettings(
  o: SftpOptions,
  vars: NodeJS.ProcessEnv,
): SftpSettings & { knownHostsFile: string; defaultUser: string } {
  const home = vars.HOME || os.homedir();
  const keyFile =
    o.keyFile ??
    (o.password
      ? undefined
      : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => path.join(home, '.ssh', k)).find((f) => existsSync(f)));
  const knownHostsFile = o.knownHostsFile ?? path.join(home, '.ssh', 'known_hosts');
  return {
    user: o.user,
    port: o.port,
    password: o.password,
    passphrase: o.passphrase,
    hostKey: o.hostKey,
    privateKey: keyFile ? read(keyFile, 'SSH key') : undefined,
    knownHosts: o.hostKey ? undefined : existsSync(knownHostsFile) ? read(knownHostsFile, 'known_hosts file') : '',
    knownHostsFile,
    agent: vars.SSH_AUTH_SOCK || undefined,
    defaultUser: vars.USER || vars.LOGNAME || os.userInfo().username,
  };
}
