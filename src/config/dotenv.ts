/**
 * A `.env` file's variables, parsed by Node's own `util.parseEnv` (KEY=value lines, `export`
 * prefixes, quotes, # comments, multi-line double-quoted values). hoard reads the project's .env
 * for `env:NAME` references and for `hoard init`'s detection; the process environment always wins
 * over it.
 */
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';

/** Parses .env text; lines that are not assignments are ignored. */
export function parseDotenv(text: string): Record<string, string> {
  return { ...parseEnv(text) } as Record<string, string>;
}

/** The variables of `file`; an empty object when it does not exist or cannot be read. */
export async function readDotenv(file: string): Promise<Record<string, string>> {
  try {
    return parseDotenv(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
}
