/**
 * The PostgreSQL source a point-in-time command means: named with --source, or the only source
 * with a `pitr:` section. Kind "usage" (exit 1) when there is none, or the name is not one.
 */
import { fileURLToPath } from 'node:url';
import { HoardError } from '../../core/index.js';
import { type SourceConfig, entryOf } from '../../config/index.js';
import { type Connection, parseDatabaseUrl } from '../../databases/index.js';
import { type Project, projectSecret } from '../project.js';

type PgSource = Extract<SourceConfig, { type: 'postgres' }>;

export interface PitrSource {
  name: string;
  config: PgSource;
  pitr: NonNullable<PgSource['pitr']>;
}

/** The source for a WAL or base-backup command. */
export function pitrSource(p: Project, name?: string): PitrSource {
  const sources = p.config.sources ?? {};
  const file = p.loaded?.file ?? 'hoard.yaml';
  const withPitr = Object.keys(sources).filter((n) => {
    const s = sources[n];
    return s.type === 'postgres' && s.pitr !== undefined;
  });
  const chosen = name ?? (withPitr.length === 1 ? withPitr[0] : undefined);
  if (chosen === undefined)
    throw new HoardError(
      'usage',
      withPitr.length ? `several sources have pitr: (${withPitr.join(', ')})` : `no source in ${file} has pitr:`,
      {
        hint: withPitr.length
          ? 'name one with --source NAME'
          : 'add `pitr: {}` under a postgres source (docs/pitr.md), and pass --config if hoard.yaml is elsewhere',
      },
    );
  const s = entryOf(sources, chosen);
  if (!s)
    throw new HoardError('usage', `${chosen} is not a source in ${file}`, {
      hint: `sources: ${Object.keys(sources).join(', ') || '(none)'}`,
    });
  if (s.type !== 'postgres' || !s.pitr)
    throw new HoardError('usage', `source ${chosen} has no pitr: section`, {
      hint: 'point-in-time recovery is for postgres sources: add `pitr: {}` under it (docs/pitr.md)',
    });
  return { name: chosen, config: s, pitr: s.pitr };
}

/** The source's connection (its URL's secret resolved). */
export async function pitrConnection(p: Project, s: PitrSource): Promise<Connection> {
  const c = parseDatabaseUrl(await projectSecret(p, s.config.url, ['sources', s.name, 'url']));
  if (c.engine !== 'postgres')
    throw new HoardError('config', `source ${s.name} is type postgres but its URL is ${c.engine}`, {
      hint: 'give a postgres:// URL',
    });
  return c;
}

/** This installation's CLI script: what archive_command and restore_command run (also from the library or the API). */
export function cliScript(): string {
  return fileURLToPath(new URL('../../cli/main.js', import.meta.url));
}
