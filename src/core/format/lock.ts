/** Lock files (restic-format.md §11). */
import { HoardError } from '../errors.js';
import { goStringify } from './gojson.js';

export interface LockRecord {
  time: string;
  exclusive: boolean;
  hostname: string;
  username: string;
  pid: number;
  uid?: number;
  gid?: number;
}

/** Serializes as restic does; uid/gid omitted when 0. */
export function encodeLock(l: LockRecord): string {
  return goStringify({
    time: l.time, exclusive: l.exclusive, hostname: l.hostname, username: l.username, pid: l.pid,
    ...(l.uid ? { uid: l.uid } : {}), ...(l.gid ? { gid: l.gid } : {}),
  });
}

/** Parses a lock; kind "corrupt" when malformed. */
export function decodeLock(json: Buffer): LockRecord {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(json.toString('utf8'));
  } catch {
    throw new HoardError('corrupt', 'lock file is not valid JSON');
  }
  if (typeof j !== 'object' || j === null || typeof j.time !== 'string') throw new HoardError('corrupt', 'lock file is malformed');
  return {
    time: j.time, exclusive: j.exclusive === true, hostname: String(j.hostname ?? ''), username: String(j.username ?? ''),
    pid: typeof j.pid === 'number' ? j.pid : 0,
    ...(typeof j.uid === 'number' ? { uid: j.uid } : {}), ...(typeof j.gid === 'number' ? { gid: j.gid } : {}),
  };
}
