/** Maps file-system errors to HoardError kinds with a message that names the path. */
import { HoardError } from '../../core/index.js';

/** Converts an errno error from `op` on `path`. */
export function fsError(e: unknown, op: string, path: string): HoardError {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return new HoardError('not-found', `${path} does not exist`, { cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
      return new HoardError('no-space', `no space left on the device while writing ${path}`, {
        hint: 'free some space (or prune old snapshots) and run again',
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
      return new HoardError('io', `permission denied: cannot ${op} ${path}`, {
        hint: 'check the owner and mode of the repository folder',
        cause: e,
      });
    case 'ENOTDIR':
      return new HoardError('io', `cannot ${op} ${path}: a part of the path is a file, not a folder`, {
        hint: 'check the repository path',
        cause: e,
      });
    case 'EROFS':
      return new HoardError('io', `cannot ${op} ${path}: read-only file system`, { cause: e });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
    case 'EIO':
      return new HoardError('io', `cannot ${op} ${path}: ${err.code}`, { retryable: true, cause: e });
    default:
      return new HoardError('io', `cannot ${op} ${path}: ${err.message}`, { cause: e });
  }
}
