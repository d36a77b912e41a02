/** Where a database snapshot of a hoard.yaml source goes back to by default: that source, as configured now. */
import * as path from 'node:path';
import type { SnapshotEntry } from '../core/index.js';
import { type Connection, parseDatabaseUrl } from '../databases/index.js';
import { type Project, projectSecret } from './project.js';
import { toRecord } from './snapshot-view.js';

/**
 * The configured connection of the snapshot's source (its URL secret resolved), or undefined when
 * the snapshot's source is not a database source of this project (then the URL stored in the
 * snapshot, without its password, is used).
 */
export async function configuredTarget(p: Project, s: SnapshotEntry): Promise<Connection | undefined> {
  const r = toRecord(s);
  const cfg = r.source ? p.config.sources?.[r.source] : undefined;
  if (!cfg || cfg.type === 'files') return undefined;
  if (cfg.type === 'sqlite') return r.engine === 'sqlite' ? { engine: 'sqlite', path: path.resolve(p.dir, cfg.path) } : undefined;
  const c = parseDatabaseUrl(await projectSecret(p, cfg.url, ['sources', r.source!, 'url']));
  return c.engine === r.engine ? c : undefined;
}
