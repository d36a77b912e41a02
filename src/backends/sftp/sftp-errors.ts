/** SFTP and SSH failures as HoardErrors: missing files, refused logins, and dropped connections (retryable). */
import { HoardError } from '../../core/index.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

const TRANSIENT =
  /ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|EHOSTUNREACH|EAI_AGAIN|Not connected|No response|Connection lost|closed|Timed out|socket hang up/i;

export function sftpError(e: unknown, op: string, what: string, where: string): HoardError {
  if (e instanceof HoardError) return e;
  const x = e as Error & { code?: number | string; level?: string };
  if (x.code === NO_SUCH_FILE) return new HoardError('not-found', `${what} does not exist`, { cause: e });
  if (x.code === PERMISSION_DENIED)
    return new HoardError('io', `${where} refused the ${op} of ${what}: permission denied`, {
      hint: "check the folder's owner and modes on the server",
      cause: e,
    });
  if (x.level === 'client-authentication') {
    return new HoardError('io', `${where} refused the login: ${x.message}`, {
      hint: 'check sftp.user and sftp.key (or sftp.password) of the repository in hoard.yaml, or your ssh-agent',
      cause: e,
    });
  }
  return new HoardError('io', `SFTP ${op} ${what} at ${where} failed: ${x.message}`, {
    retryable:
      TRANSIENT.test(`${x.code ?? ''} ${x.message}`) || x.level === 'client-socket' || x.level === 'client-timeout',
    cause: e,
  });
}
