/** Lock files (restic-format.md §11). */
import { HoardError } from '../errors.js';
import { decodeJsonObject, goStringify } from './gojson.js';

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
    time: l.time,
    exclusive: l.exclusive,
    hostname: l.hostname,
    username: l.username,
    pid: l.pid,
    ...(l.uid ? { uid: l.uid } : {}),
    ...(l.gid ? { gid: l.gid } : {}),
  });
}

/** Parses a lock; kind "corrupt" when malformed. */
export function decodeLock(json: Buffer): LockRecord {
  const j = decodeJsonObject(json, 'lock file');
  if (typeof j.time !== 'string') throw new HoardError('corrupt', 'lock file has no time');
  return {
    time: j.time,
    exclusive: j.exclusive === true,
    hostname: String(j.hostname ?? ''),
    username: String(j.username ?? ''),
    pid: typeof j.pid === 'number' ? j.pid : 0,
    ...(typeof j.uid === 'number' ? { uid: j.uid } : {}),
    ...(typeof j.gid === 'number' ? { gid: j.gid } : {}),
  };
}
