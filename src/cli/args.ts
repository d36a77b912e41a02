/**
 * A small flag parser with restic's conventions: long flags (--name value or --name=value),
 * short aliases, other long names (`aliases`, stored under the flag's own name), repeatable flags,
 * booleans, and "--" ending flags. Unknown flags are a usage error.
 */
import { type CompressionMode, HoardError } from '../core/index.js';

export type FlagType = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  type: FlagType;
  short?: string;
  /** Other long names for the flag (`--type` for `--kind`); parsed under the flag's own name. */
  aliases?: string[];
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Words after "--" (a command to run). */
  rest: string[];
}

/** The value of string flag `name`: undefined when absent; a programming error when the flag is of another type. */
export function textFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new TypeError(`--${name} is not a string flag`);
}

/** The values of repeatable flag `name`: undefined when absent; a programming error when the flag is of another type. */
export function listFlag(p: Parsed, name: string): string[] | undefined {
  const v = p.flags[name];
  if (v === undefined || Array.isArray(v)) return v;
  throw new TypeError(`--${name} is not a repeatable flag`);
}

/** Parses argv against the specs; kind "usage" naming the flag when something does not fit. */
export function parseArgs(argv: string[], specs: FlagSpecs, command: string): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(specs)
      .filter(([, s]) => s.short)
      .map(([n, s]) => [s.short!, n]),
  );
  const byAlias = new Map(Object.entries(specs).flatMap(([n, s]) => (s.aliases ?? []).map((a) => [a, n] as const)));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { flags, positionals, rest: argv.slice(i + 1) };
    let name: string | undefined, inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
      if (!Object.hasOwn(specs, name)) name = byAlias.get(name) ?? name;
    } else if (a.startsWith('-') && a.length === 2) {
      name = byShort.get(a[1]);
      if (!name)
        throw new HoardError('usage', `unknown flag ${a} for \`hoard ${command}\``, {
          hint: `see \`hoard ${command} --help\``,
        });
    } else {
      positionals.push(a);
      continue;
    }
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec)
      throw new HoardError('usage', `unknown flag --${name} for \`hoard ${command}\``, {
        hint: `see \`hoard ${command} --help\``,
      });
    if (spec.type === 'boolean') {
      flags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined)
      throw new HoardError('usage', `flag --${name} needs a value`, { hint: `see \`hoard ${command} --help\`` });
    if (spec.type === 'list') flags[name] = [...((flags[name] as string[] | undefined) ?? []), v];
    else flags[name] = v;
  }
  return { flags, positionals, rest: [] };
}

/** Help text for a command's flags. */
export function flagHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([n, s]) => {
      const left = `${s.short ? `-${s.short}, ` : '    '}--${n}${s.type === 'boolean' ? '' : ' VALUE'}`;
      const also = s.aliases?.length ? ` (also ${s.aliases.map((a) => `--${a}`).join(', ')})` : '';
      return `  ${left.padEnd(30)} ${s.help}${also}`;
    })
    .join('\n');
}

/** A flag holding a whole number of days (at least `min`); undefined when absent, kind "usage" when not a number. */
export function daysFlag(v: unknown, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(String(v)) || Number(v) < min)
    throw new HoardError(
      'usage',
      `${flag} must be a number of days${min ? ` (${min} or more)` : ''}, not ${String(v)}`,
    );
  return Number(v);
}

export { parseSize } from '../config/index.js';

/** --compression: auto, max or off; kind "usage" otherwise. */
export function compressionFlag(v: unknown): CompressionMode | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto' || v === 'max' || v === 'off') return v;
  throw new HoardError('usage', `unknown compression mode ${String(v)}`, { hint: 'use auto, max or off' });
}
