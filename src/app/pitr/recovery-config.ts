/**
 * The configuration of a restored data directory, written by hoard and never trusted from the
 * base backup: the tar's postgresql.conf and postgresql.auto.conf come from the repository, which
 * someone holding its key may have written. So recovery settings the tar carries are commented out
 * before hoard appends its own; the server hoard starts gets command-line settings (which win over
 * every file) that load no library, run no command but restore_command, archive nothing, keep to
 * the target folder and listen on 127.0.0.1 only; and access is decided by an hba file hoard writes
 * (password logins from 127.0.0.1 and ::1 only, no trust), for manual starts too.
 *
 * Quoting: values in settings files are single-quoted with `'` and `\` escaped; in
 * restore_command, `%` of hoard's own words is doubled (PostgreSQL substitutes %f, %p, %r, %%).
 */
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError } from '../../core/index.js';
import type { Env } from '../environment.js';
import type { Project } from '../project.js';
import { checkRestorePointName } from './mark.js';
import { cliScript } from './source.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A value as a settings-file string literal. */
export const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** A word for /bin/sh (restore_command runs through it). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** One of hoard's words in restore_command: shell-quoted, `%` doubled. */
const commandWord = (s: string) => shellWord(s).replace(/%/g, '%%');

/** The restore_command that serves WAL from this repository through `hoard wal fetch`. */
export function restoreCommand(p: Project, source: string): string {
  // this installation's CLI, also when a library user or the API server runs the restore
  const config = p.loaded?.file ? ` --config ${commandWord(path.resolve(p.loaded.file))}` : '';
  return `${commandWord(process.execPath)} ${commandWord(cliScript())} wal fetch${config}${repoFlag(p)} --source ${commandWord(source)} %f %p`;
}

/**
 * `--repo X` when the restore reads another repository than hoard.yaml's default (a copy
 * destination), so that recovery fetches WAL from the same one; never a URL with a password in it
 * (postgresql.auto.conf is no place for secrets: name the repository in hoard.yaml instead).
 */
function repoFlag(p: Project): string {
  const r = p.settings.repository;
  if (!r || r.from === 'file') return '';
  if (r.value.name) return ` --repo ${commandWord(r.value.name)}`;
  if (/^[a-z0-9+]+:\/\/[^/@]*:[^/@]*@/i.test(r.value.url) || /^rest:https?:\/\/[^/@]*:[^/@]*@/i.test(r.value.url))
    throw new HoardError(
      'usage',
      'the repository URL holds a password, which restore_command would write into postgresql.auto.conf',
      { hint: 'name the repository in hoard.yaml (repositories:) and restore with --repo NAME' },
    );
  return ` --repo ${commandWord(r.value.url)}`;
}

/** What recovery stops at: a time, a transaction or a restore point. */
export type RecoveryTarget = { time: number } | { xid: string } | { name: string };

export const describe = (t: RecoveryTarget) =>
  'time' in t ? iso(t.time) : 'xid' in t ? `transaction ${t.xid}` : `restore point ${t.name}`;

/** The target's recovery_target_* line. */
function targetLine(t: RecoveryTarget): string {
  if ('time' in t) return `recovery_target_time = ${quote(iso(t.time).replace('T', ' ').replace('Z', '+00'))}`;
  if ('xid' in t) return `recovery_target_xid = ${quote(t.xid)}`;
  return `recovery_target_name = ${quote(t.name)}`;
}

/** The request's target; kind "usage" for a malformed or doubled one. */
export function targetOf(req: { atMs?: number; xid?: string; restorePoint?: string }): RecoveryTarget {
  if (req.xid !== undefined && req.restorePoint !== undefined)
    throw new HoardError('usage', 'choose --xid or --restore-point, not both');
  if (req.xid !== undefined) {
    if (!/^[1-9]\d{0,19}$/.test(req.xid))
      throw new HoardError('usage', `--xid must be a transaction id (a whole number), not ${req.xid}`);
    return { xid: req.xid };
  }
  if (req.restorePoint !== undefined) return { name: checkRestorePointName(req.restorePoint) };
  if (req.atMs === undefined)
    throw new HoardError('usage', 'a point-in-time restore needs --at TIME, --xid XID or --restore-point NAME');
  return { time: req.atMs };
}

/** Settings of the tar's files that would run, load or archive something, or fight hoard's recovery settings. */
const FOREIGN =
  /^\s*(restore_command|recovery_\w+|archive_\w+|primary_\w+|promote_trigger_file|hba_file|ident_file|data_directory|external_pid_file|\w*preload_libraries|ssl_passphrase_command|include\w*)\b/i;

/** Comments out FOREIGN lines of the tar's postgresql.conf and postgresql.auto.conf (through no symlink). */
export async function neutralize(dir: string): Promise<void> {
  for (const name of ['postgresql.conf', 'postgresql.auto.conf']) {
    const text = await readPlain(path.join(dir, name));
    if (text === undefined) continue;
    const out = text
      .split('\n')
      .map((l) => (FOREIGN.test(l) ? `# (disabled by hoard restore) ${l}` : l))
      .join('\n');
    await writePlain(path.join(dir, name), out);
  }
}

/** The access files hoard writes into the target: password logins from loopback only. */
export async function writeAccessFiles(dir: string): Promise<{ hba: string; ident: string }> {
  const hba = path.join(dir, 'hoard_hba.conf');
  const ident = path.join(dir, 'hoard_ident.conf');
  await fs.writeFile(
    hba,
    '# written by hoard restore: logins from this machine only, with a password (no trust)\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n',
    { flag: 'wx', mode: 0o600 },
  );
  await fs.writeFile(ident, '# written by hoard restore: no user name maps\n', { flag: 'wx', mode: 0o600 });
  return { hba, ident };
}

/** postgresql.auto.conf lines for recovery to `target` (the last lines win over the files' others). */
export function recoverySettings(
  o: { command: string; target: RecoveryTarget; toEnd: boolean; timeline: number; port?: number },
  access: { hba: string; ident: string },
): string {
  const lines = [
    '',
    `# hoard restore to ${describe(o.target)}: recovery settings (remove them once the server has promoted)`,
    `restore_command = ${quote(o.command)}`,
    o.toEnd
      ? `# ${targetLine(o.target)} -- not set: every archived file was closed by then, so recovery runs to the end of the archive`
      : targetLine(o.target),
    'recovery_target_inclusive = on',
    `recovery_target_timeline = ${quote(String(o.timeline))}`,
    "recovery_target_action = 'promote'",
    "archive_mode = 'off'",
    `hba_file = ${quote(access.hba)}`,
    `ident_file = ${quote(access.ident)}`,
  ];
  if (o.port !== undefined) lines.push(`port = ${o.port}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The command-line settings of a server hoard starts (they win over every settings file): the
 * target as its data folder, 127.0.0.1 only, no socket file, no library loaded, nothing archived,
 * no command run but restore_command, no TLS (a tar's key could ask for a passphrase command).
 */
export function serverOverrides(dir: string, access: { hba: string; ident: string }): string[] {
  return [
    `data_directory=${dir}`,
    `hba_file=${access.hba}`,
    `ident_file=${access.ident}`,
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'shared_preload_libraries=',
    'session_preload_libraries=',
    'local_preload_libraries=',
    'archive_mode=off',
    'archive_command=',
    'archive_library=',
    'archive_cleanup_command=',
    'recovery_end_command=',
    'primary_conninfo=',
    'external_pid_file=',
    'ssl=off',
    'jit=off',
    'logging_collector=off',
  ];
}

/** Comments out hoard's recovery_target_time (through no symlink), so that recovery runs to the archive's end. */
export async function withoutTargetTime(dir: string): Promise<void> {
  const file = path.join(dir, 'postgresql.auto.conf');
  const text = (await readPlain(file)) ?? '';
  await writePlain(
    file,
    text.replace(
      /^recovery_target_time = .*$/gm,
      '# $& -- not set: no archived transaction commits after it, so recovery runs to the end of the archive',
    ),
  );
}

/** A regular file's text, opened without following a symlink; undefined when missing. */
async function readPlain(file: string): Promise<string | undefined> {
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new HoardError('corrupt', `${file} is not a plain file (${e.code})`, { hint: 'restore into a new folder' });
  });
  if (!fh) return undefined;
  try {
    if (!(await fh.stat()).isFile()) throw new HoardError('corrupt', `${file} is not a plain file`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Rewrites a regular file in place, opened without following a symlink. */
async function writePlain(file: string, text: string): Promise<void> {
  const fh = await fs.open(file, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    if (!(await fh.stat()).isFile()) throw new HoardError('corrupt', `${file} is not a plain file`);
    await fh.truncate(0);
    await fh.write(text, 0);
  } finally {
    await fh.close();
  }
}

/** The environment of a server hoard starts: what `wal fetch` needs to open the repository, nothing else. */
export function serverEnv(env: Env): NodeJS.ProcessEnv {
  const keep =
    /^(PATH|HOME|LANG|LC_[A-Z_]+|TZ|TMPDIR|HOARD_PASSWORD(_FILE|_COMMAND)?|RESTIC_PASSWORD(_FILE|_COMMAND)?|HOARD_REPOSITORY|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|REGION|DEFAULT_REGION|PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE)|SSH_AUTH_SOCK)$/;
  return Object.fromEntries(Object.entries(env.vars).filter(([k, v]) => v !== undefined && keep.test(k)));
}
