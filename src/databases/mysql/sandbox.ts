/**
 * A MySQL/MariaDB restore runs only the dump's SQL. The client's own commands (`system` or `\!`
 * runs a program, `tee` writes a file, `source` reads one, `pager` pipes to a program) are refused:
 * MariaDB's client with --sandbox (10.5.25, 10.6.18, 10.11.8 and later), MySQL's with
 * --commands=OFF; a client with neither is not used for restores (kind "tool", exit 4). With
 * --binary-mode besides, the client parses no command at all but DELIMITER and \C: the sandbox
 * does not refuse `connect DB HOST`, which would take the rest of the dump, and the target's user
 * and password, to a host the dump names; in binary mode it reaches the server as SQL and fails.
 * And --local-infile=0, so a `LOAD DATA LOCAL INFILE '/etc/shadow'` cannot send a file of this host
 * to the server. A refusal fails the restore with kind "corrupt" (exit 5) naming the dump's line.
 */
import { HoardError } from '../../core/index.js';
import { type LineNotes, backslashLine, noting } from '../line-notes.js';
import { captureTool, toolEnv } from '../process.js';

const guards = new Map<string, Promise<string[]>>();

/** The flags for `cmd` (its --help, asked once) that refuse client commands; kind "tool" when it has none. */
export function restoreGuard(cmd: string): Promise<string[]> {
  let guard = guards.get(cmd);
  if (!guard) {
    guard = captureTool([cmd, '--no-defaults', '--help'], { env: toolEnv() }).then((help) => {
      const binary = /^\s+--binary-mode\b/m.test(help) ? ['--binary-mode'] : [];
      if (/^\s+--sandbox\b/m.test(help)) return ['--sandbox', ...binary, '--local-infile=0'];
      if (/^\s+--commands\b/m.test(help)) return ['--commands=OFF', ...binary, '--local-infile=0'];
      throw new HoardError(
        'tool',
        `${cmd} cannot refuse client commands (it has neither --sandbox nor --commands), so a dump could run programs on this host; nothing was restored`,
        {
          hint: 'install a newer client: apt-get install mariadb-client (10.5.25, 10.6.18, 10.11.8 or later)',
        },
      );
    });
    guard.catch(() => guards.delete(cmd));
    guards.set(cmd, guard);
  }
  return guard;
}

const COMMAND = /^\s*(system|tee|notee|source|pager|nopager|edit|connect|charset|load\s+data)\b/i;
/** First letters of those words, lower case: most lines are ruled out by one byte. */
const FIRST = new Set([...'stpnecl'].map((ch) => ch.charCodeAt(0)));

/** True for a line that starts with a client command or LOAD DATA (the lines a refusal may name). */
export function commandLine(head: Buffer): boolean {
  if (backslashLine(head)) return true;
  const first = head.find((b) => b !== 0x20 && b !== 0x09);
  return first !== undefined && FIRST.has(first | 0x20) && COMMAND.test(head.toString('latin1'));
}

/** Passes a dump through while noting the lines that a refusal may name. */
export function notingCommands(dump: AsyncIterable<Buffer>, notes: LineNotes): AsyncGenerator<Buffer> {
  return noting(dump, notes, commandLine);
}

/** The client refused a command (no error code: client side) or a LOCAL file read (4166, 1148; MySQL 2068, 3948). */
const REFUSED = /ERROR at line (\d+): .*(?:not allowed|disabled|Unknown command)/i;
/** In binary mode a client command reaches the server as SQL: a syntax error at a line that holds one. */
const AS_SQL = /ERROR 1064 \(\w+\) at line (\d+)/;
const LOCAL_FILE = /ERROR (?:4166|1148|2068|3948) \(\w+\) at line (\d+)/;

/** The client's refusal as kind "corrupt" (exit 5) naming the dump's line; any other error as it is. */
export function refusalError(e: unknown, notes: LineNotes): unknown {
  const text = (e as Error)?.message ?? '';
  const sql = AS_SQL.exec(text);
  const cmd = REFUSED.exec(text) ?? (sql && notes.has(Number(sql[1])) ? sql : null);
  const file = cmd ? null : LOCAL_FILE.exec(text);
  if (!cmd && !file) return e;
  const where = notes.describe(Number((cmd ?? file)![1]));
  const what = cmd ? 'run a client command' : 'read a file of this host (LOAD DATA LOCAL INFILE)';
  return new HoardError(
    'corrupt',
    `the dump tries to ${what} at ${where}, which no dump of mariadb-dump or mysqldump contains; the client refused it`,
    {
      hint:
        'the stored dump was changed after the backup: restore an older snapshot, and check who ' +
        'can write to the repository',
    },
  );
}
