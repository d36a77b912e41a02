/** Parsing and validating hoard.yaml text (the YAML parser and the schema live here, loaded on demand by load.ts). */
import * as path from 'node:path';
import { type Document, LineCounter, isMap, isPair, isScalar, parseDocument } from 'yaml';
import type { core } from 'zod';
import { HoardError } from '../core/index.js';
import { CONFIG_VERSION, configSchema } from './schema.js';
import { crossCheck } from './check.js';
import type { ConfigPath, ConfigProblem, LoadedConfig } from './load.js';

/** Validates config text as if read from `file` (used by tests and `hoard init`). */
export function parseConfig(text: string, file: string): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const at = (offset: number) => `${file}:${lines.linePos(offset).line}`;
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw fail([
      {
        where: at(e.pos[0]),
        key: '',
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
        fix: 'fix the YAML syntax (indentation, quotes, colons)',
      },
    ]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (e) {
    // an alias without its anchor, or aliases that expand without bound (a "billion laughs" file)
    throw fail([
      {
        where: at(0),
        key: '',
        message: `not valid YAML: ${(e as Error).message.split('\n')[0]}`,
        fix: 'define each &anchor before its *alias, and do not nest aliases to expand without bound',
      },
    ]);
  }
  const where = (p: ConfigPath) => at(offsetOf(doc, p));
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw fail([
      {
        where: at(0),
        key: '',
        message: 'the file must hold a mapping of keys (repositories:, sources:, jobs: …)',
        fix: 'see docs/configuration.md for an example',
      },
    ]);
  }
  const version = (raw as { version?: unknown }).version;
  if (typeof version === 'number' && version > CONFIG_VERSION) {
    throw fail([
      {
        where: where(['version']),
        key: 'version',
        message: `the file was written for a newer hoard (config version ${version}; this hoard reads up to ${CONFIG_VERSION})`,
        fix: 'upgrade hoard (npm install -g hoard@latest)',
      },
    ]);
  }
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw fail(parsed.error.issues.map((i) => problem(i, where)));
  const loaded: LoadedConfig = { file, dir: path.dirname(file), config: parsed.data, where };
  const problems = crossCheck(parsed.data).map((p) => ({
    where: where(p.path),
    key: p.path.join('.'),
    message: p.message,
    fix: p.fix,
  }));
  if (problems.length) throw fail(problems);
  return loaded;
}

function fail(problems: ConfigProblem[]): HoardError {
  const [p] = problems;
  const more =
    problems.length > 1
      ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: see \`hoard config check\`)`
      : '';
  return new HoardError('config', `${p.where}: ${p.key ? `${p.key}: ` : ''}${p.message}${more}`, {
    hint: p.fix,
    context: { problems },
  });
}

/** The offset of the key at `p` (or of its nearest existing parent). */
function offsetOf(doc: Document, p: ConfigPath): number {
  let node: unknown = doc.contents;
  let offset = 0;
  for (const k of p) {
    if (!isMap(node) && !(node && typeof node === 'object' && 'items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    const pair = isMap(node)
      ? items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(k))
      : undefined;
    if (pair && isPair(pair)) {
      offset = (pair.key as { range?: [number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (!isMap(node) && typeof k === 'number' && items[k]) {
      node = items[k];
      offset = (node as { range?: [number] }).range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

const TOP_KEYS = Object.keys(configSchema.shape).join(', ');

function problem(i: core.$ZodIssue, where: (p: ConfigPath) => string): ConfigProblem {
  const p = i.path as ConfigPath;
  const key = p.join('.');
  switch (i.code) {
    case 'unrecognized_keys': {
      const k = i.keys[0];
      const full = [...p, k];
      return {
        where: where(full),
        key: full.join('.'),
        message: `unknown key${i.keys.length > 1 ? `s ${i.keys.join(', ')}` : ''}`,
        fix:
          p.length === 0
            ? `remove it or fix its spelling; the top-level keys are ${TOP_KEYS}`
            : 'remove it or fix its spelling (docs/configuration.md lists every key)',
      };
    }
    case 'invalid_type':
      return {
        where: where(p),
        key,
        message: i.input === undefined ? 'is missing' : `must be ${article(i.expected)}`,
        fix:
          i.input === undefined
            ? `add ${p[p.length - 1]}: (see docs/configuration.md)`
            : `write ${article(i.expected)} here`,
      };
    case 'invalid_value':
      return {
        where: where(p),
        key,
        message: `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`,
        fix: `use one of ${i.values.join(', ')}`,
      };
    case 'too_small':
    case 'too_big':
      return {
        where: where(p),
        key,
        message: i.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must be '),
        fix: 'change the value',
      };
    default:
      return {
        where: where(p),
        key,
        message: i.message,
        fix:
          i.code === 'invalid_union'
            ? 'see docs/configuration.md for the allowed values'
            : 'fix the value (docs/configuration.md describes this key)',
      };
  }
}

function article(t: string): string {
  const words: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping (key: value)',
    record: 'a mapping (key: value)',
  };
  return words[t] ?? t;
}
