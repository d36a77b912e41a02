/**
 * Finding and loading hoard.yaml. Every problem is a HoardError of kind "config" whose message names
 * the file, the line and the key, and whose hint says how to fix it; `context.problems` lists all of
 * them (the message shows the first). Loading changes nothing and reads no secret. The parsing
 * itself is in parse.ts, loaded only when a file is read.
 */
import { readFile, stat } from 'node:fs/promises';
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
      if (await stat(f).then((s) => s.isFile(), () => false)) return f;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Reads, parses and validates one config file; kind "config" on any problem. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new HoardError('config', `cannot read the config file ${file}: ${code === 'ENOENT' ? 'it does not exist' : code ?? (e as Error).message}`, {
      hint: code === 'ENOENT' ? 'check --config / HOARD_CONFIG, or run `hoard init` to write one' : 'check the file\'s permissions',
    });
  }
  // the YAML parser and the schema load only when there is a file to read
  const { parseConfig } = await import('./parse.js');
  return parseConfig(text, file);
}

