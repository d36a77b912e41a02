/**
 * Whether each PostgreSQL source's server archives its WAL (for `hoard init`): archive_mode, the
 * archive_command in force, and the one change to make for point-in-time recovery. A server that
 * cannot be asked is left out (the first backup reports the connection).
 */
import * as path from 'node:path';
import { parseDatabaseUrl } from '../../databases/index.js';
import { walSettings } from '../../databases/postgres/basebackup.js';
import { type Project, projectSecret } from '../project.js';
import { cliScript } from './source.js';

export interface ArchiveReadiness {
  source: string;
  archive_mode: string;
  /** True when archive_command already runs `hoard wal push`. */
  through_hoard: boolean;
  advice: string;
}

/** The archive_command that archives into this project through this installation's CLI. */
export function archiveCommandFor(p: Project): string {
  const cli = cliScript();
  const config = p.loaded?.file ? ` --config ${path.resolve(p.loaded.file)}` : '';
  return `${process.execPath} ${cli} wal push${config} %p`;
}

/** The readiness of every postgres source of `p` whose server answers. */
export async function archiveReadiness(p: Project): Promise<ArchiveReadiness[]> {
  const out: ArchiveReadiness[] = [];
  for (const [source, s] of Object.entries(p.config.sources ?? {})) {
    if (s.type !== 'postgres') continue;
    const w = await projectSecret(p, s.url, ['sources', source, 'url'])
      .then((url) => walSettings(parseDatabaseUrl(url)))
      .catch(() => undefined);
    if (!w) continue;
    const through = /\bwal push\b/.test(w.archiveCommand);
    const set = `archive_mode = on and archive_command = '${archiveCommandFor(p)}' in postgresql.conf`;
    const advice =
      w.archiveMode === 'off'
        ? `archive_mode is off: for point-in-time recovery set ${set}, restart the server and add \`pitr: {}\` under the source (docs/pitr.md)`
        : through
          ? `archive_mode is ${w.archiveMode} and WAL is archived through hoard${s.pitr ? '' : ': add `pitr: {}` under the source'}`
          : `archive_mode is ${w.archiveMode} with archive_command '${w.archiveCommand}': to archive into hoard instead, set archive_command = '${archiveCommandFor(p)}' (docs/pitr.md)`;
    out.push({ source, archive_mode: w.archiveMode, through_hoard: through, advice });
  }
  return out;
}
