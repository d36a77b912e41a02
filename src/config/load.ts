/**
 * Finding and loading hoard.yaml. Every problem is a HoardError of kind "config" whose message names
 * the file, the line and the key, and whose hint says how to fix it; `context.problems` lists all of
 * them (the message shows the first). Loading changes nothing and reads no secret. The parsing
 * itself is in parse.ts, loaded only when a file is read.
 */
import { lstat, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError } from '../core/index.js';
import type { HoardConfig } from './schema.js';

export const CONFIG_NAMES = ['hoard.yaml', 'hoard.yml'];

export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  /** "file:line" */
  where: string;
  key: string;
  message: string;
  fix: string;
}

export interface LoadedConfig {
  file: string;
  /** The folder holding the file: relative paths in it are relative to this folder. */
  dir: string;
  config: HoardConfig;
  /** "file:line" of a key (the nearest existing parent when the key is absent). */
  where(p: ConfigPath): string;
}

/** The config file in `cwd` or the nearest parent folder; undefined when there is none. */
export async function findConfigFile(cwd: string): Promise<string | undefined> {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    for (const n of CONFIG_NAMES) {
      const f = path.join(dir, n);
      if (
        await stat(f).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        return f;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Refuses a file that hoard found by itself rather than was told to use (a hoard.yaml found by the
 * upward search, the .env beside it): kind "config" when it belongs to a user other than the
 * effective user and root, or when others may write to it. Such a file could run commands as this
 * user (`cmd:` secrets) or feed it secrets. A missing file passes; so does every file on a system
 * without user ids. The hint names `config`, the file to pass to --config to use it anyway.
 */
export async function assertTrustedFile(
  file: string,
  what: string,
  config: string,
  euid = process.geteuid?.(),
): Promise<void> {
  if (euid === undefined) return;
  const allow = `to use it as it is, name the config: --config ${config} (or HOARD_CONFIG=${config})`;
  const own = (uid: number) => uid === euid || uid === 0;
  const link = await lstat(file).catch(() => undefined);
  if (!link) return;
  // a symlink counts by its own owner too (someone else's link to your file makes their folder the project)
  const s = link.isSymbolicLink() ? await stat(file).catch(() => undefined) : link;
  for (const [st, label] of [
    [link, 'it'],
    [s, 'what it points to'],
  ] as const) {
    if (st && !own(st.uid))
      throw new HoardError(
        'config',
        `refusing ${file} (${what}): ${label} belongs to uid ${st.uid}, not to you (uid ${euid}) or root`,
        { hint: allow },
      );
  }
  if (s && s.mode & 0o002) {
    throw new HoardError(
      'config',
      `refusing ${file} (${what}): anyone may write to it (mode ${(s.mode & 0o777).toString(8).padStart(4, '0')})`,
      { hint: `chmod o-w ${file}, or ${allow}` },
    );
  }
  // its folder is the project's (.hoard/, .env, relative paths): someone who may write there may swap them
  const dir = await stat(path.dirname(file)).catch(() => undefined);
  if (dir && (!own(dir.uid) || (dir.mode & 0o002 && !(dir.mode & 0o1000)))) {
    throw new HoardError(
      'config',
      `refusing ${file} (${what}): its folder ${path.dirname(file)} ${!own(dir.uid) ? `belongs to uid ${dir.uid}` : 'may be written by anyone'}`,
      { hint: allow },
    );
  }
}

/** Reads, parses and validates one config file; kind "config" on any problem. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HoardError(
      'config',
      `cannot read the config file ${file}: ${code === 'ENOENT' ? 'it does not exist' : (code ?? (e as Error).message)}`,
      {
        hint:
          code === 'ENOENT'
            ? 'check --config / HOARD_CONFIG, or run `hoard init` to write one'
            : "check the file's permissions",
      },
    );
  }
  // the YAML parser and the schema load only when there is a file to read
  const { parseConfig } = await import('./parse.js');
  return parseConfig(text, file);
}
