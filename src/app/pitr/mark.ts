/**
 * `hoard wal mark NAME`: a named restore point in a point-in-time source's WAL
 * (pg_create_restore_point), then a segment switch so that the segment holding it is archived
 * now; `hoard restore --restore-point NAME` stops there. Both functions need a superuser, or a
 * user granted EXECUTE on them.
 */
import { HoardError } from '../../core/index.js';
import { pgQuery } from '../../databases/postgres/connection.js';
import { anyPsql } from '../../databases/postgres/tools.js';
import type { Project } from '../project.js';
import { pitrConnection, pitrSource } from './source.js';

export interface MarkResult {
  source: string;
  name: string;
  lsn: string;
  segment: string;
}

/** Checks a restore point's name (PostgreSQL's limit, nothing that would break a settings file); kind "usage". */
export function checkRestorePointName(name: string): string {
  if (!name || Buffer.byteLength(name) > 63 || /[\x00-\x1f\x7f]/.test(name))
    throw new HoardError('usage', 'a restore point name is 1 to 63 bytes with no control characters');
  return name;
}

/** Creates restore point `name` on the source's server. */
export async function markRestorePoint(p: Project, req: { source?: string; name: string }): Promise<MarkResult> {
  checkRestorePointName(req.name);
  const src = pitrSource(p, req.source);
  const c = await pitrConnection(p, src);
  // dollar-quoted with a tag the name does not hold: no escape rule of the server's settings applies
  let tag = 'hoard';
  while (req.name.includes(tag)) tag += 'x';
  const literal = `$${tag}$${req.name}$${tag}$`;
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    `SELECT pg_create_restore_point(${literal}), pg_walfile_name(pg_current_wal_lsn()), pg_switch_wal()`,
  );
  const [lsn, segment] = rows[0] ?? [];
  if (!lsn) throw new HoardError('command-failed', `the server created no restore point ${req.name}`);
  return { source: src.name, name: req.name, lsn, segment: segment ?? '' };
}
