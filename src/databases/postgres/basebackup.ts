/**
 * A PostgreSQL base backup as one tar stream: `pg_basebackup -D - -Ft -X none` (the server's data
 * directory and its backup_manifest in one tar, WAL left to the archive), with the positions read
 * from its backup_label and backup_manifest as the tar passes (backup-label.ts). The server must archive its WAL
 * (archive_mode on): without the archive the backup cannot be made consistent, so it is refused.
 */
import { HoardError } from '../../core/index.js';
import { runTool } from '../process.js';
import type { Connection } from '../types.js';
import { pgEnv, pgQuery } from './connection.js';
import { anyPsql, pgTools } from './tools.js';
import { type BackupPositions, withPositions } from './backup-label.js';

/** What the server says about its WAL before a base backup. */
export interface WalSettings {
  serverVersion: string;
  major: number;
  segSize: number;
  archiveMode: string;
  archiveCommand: string;
  timeline: number;
  /** The server's clock, epoch ms. */
  nowMs: number;
  replication: boolean;
}

/** The server's WAL settings (one query). */
export async function walSettings(c: Connection): Promise<WalSettings> {
  const rows = await pgQuery(
    await anyPsql(process.env),
    c,
    `SELECT current_setting('server_version_num'), current_setting('wal_segment_size'), current_setting('archive_mode'),
       current_setting('archive_command'), (SELECT timeline_id FROM pg_control_checkpoint()),
       (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
       (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)`,
  );
  const r = rows[0] ?? [];
  const num = Number(r[0] ?? 0);
  return {
    serverVersion: `${Math.floor(num / 10000)}.${num % 10000}`,
    major: Math.floor(num / 10000),
    segSize: segBytes(r[1] ?? ''),
    archiveMode: r[2] ?? 'off',
    archiveCommand: r[3] ?? '',
    timeline: Number(r[4] ?? 1),
    nowMs: Number(r[5] ?? 0),
    replication: r[6] === 't',
  };
}

/** wal_segment_size as the server shows it ("16MB") in bytes. */
function segBytes(v: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(v.trim());
  if (!m) return 16 << 20;
  return Number(m[1]) * ({ kB: 1024, MB: 1 << 20, GB: 1 << 30 }[m[2] ?? ''] ?? 1);
}

/** The refusal for a server that does not archive WAL through hoard. */
export function requireArchiving(s: WalSettings): void {
  if (s.archiveMode === 'off')
    throw new HoardError(
      'config',
      'the server does not archive its WAL (archive_mode = off): a base backup could not be restored',
      {
        hint: "set archive_mode = on and archive_command = 'hoard wal push %p' in postgresql.conf, then restart the server",
      },
    );
  if (!s.replication)
    throw new HoardError(
      'config',
      'the database user may not take base backups (it has neither REPLICATION nor SUPERUSER)',
      {
        hint: 'ALTER ROLE name REPLICATION, and allow it a replication line in pg_hba.conf',
      },
    );
}

/** A running pg_basebackup: its tar on stdout, read for its positions as it passes. */
export async function startBaseBackup(
  c: Connection,
  major: number,
  signal?: AbortSignal,
): Promise<{ stream: AsyncIterable<Buffer>; done: Promise<void>; positions: BackupPositions }> {
  const t = await pgTools(major, process.env);
  const positions: BackupPositions = {};
  const run = runTool([t.bin('pg_basebackup'), '--no-password', '-D', '-', '-F', 'tar', '-X', 'none', '-c', 'fast'], {
    env: pgEnv(c),
    signal,
    hint: 'check that the user may replicate (REPLICATION, and a replication line in pg_hba.conf)',
  });
  return { stream: withPositions(run.stdout, positions), done: run.done, positions };
}
