/**
 * A `.env` file's variables (KEY=value lines, `export` prefixes, single or double quotes, # comments).
 * hoard reads the project's .env for `env:NAME` references and for `hoard init`'s detection; the
 * process environment always wins over it.
 *
 * Written here rather than with Node's `util.parseEnv` on purpose: parseEnv cuts an unquoted value at
 * any `#` (`PASSWORD=abc#123` reads as `abc`), ends a double-quoted value at `\"`, and lets an
 * unclosed quote swallow the lines after it (and the secrets on them). A password read short opens
 * nothing, or makes `hoard init` create a repository under the shorter one. Here a comment starts only
 * at a `#` after whitespace (as Docker Compose reads env files) and every value ends with its line.
 */
import { readFile } from 'node:fs/promises';

/** Parses .env text; lines that are not assignments are ignored. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2];
    const q = /^(['"])(.*)\1$/.exec(v);
    if (q) v = q[1] === '"' ? q[2].replace(/\\n/g, '\n').replace(/\\"/g, '"') : q[2];
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return out;
}

/** The variables of `file`; an empty object when it does not exist or cannot be read. */
export async function readDotenv(file: string): Promise<Record<string, string>> {
  try {
    return parseDotenv(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
}
