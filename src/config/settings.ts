/**
 * Precedence: flags > HOARD_* environment variables > hoard.yaml > defaults. Each resolved setting
 * says where it came from (`hoard config show` prints it). Pure: the caller passes flags, variables
 * and the loaded file.
 */
import * as path from 'node:path';
import type { LoadedConfig } from './load.js';
import type { EnvironmentConfig, HoardConfig, RepositoryConfig } from './schema.js';
import { parseDuration } from './schedule.js';

export type Origin = 'flag' | 'env' | 'file' | 'default';

export interface Resolved<T> {
  value: T;
  from: Origin;
}

export interface RepositorySetting {
  /** The repository's name in hoard.yaml, when it is one of those. */
  name?: string;
  url: string;
  /** The password reference from hoard.yaml (env:/file:/cmd:), used when no HOARD_PASSWORD* is set. */
  password?: string;
  /** The repository's entry in hoard.yaml (backend settings), when it is one of those. */
  config?: RepositoryConfig;
}

export interface SettingsInput {
  flags: { repo?: string; environment?: string };
  vars: Record<string, string | undefined>;
  loaded?: LoadedConfig;
}

export interface Settings {
  repository?: Resolved<RepositorySetting>;
  environment?: Resolved<string>;
}

/**
 * The entry `name` of a hoard.yaml section (sources, jobs, restore_targets…), or undefined. Names
 * that come from a request or from a repository's metadata must be looked up this way: a plain
 * `section[name]` finds `constructor` and the like on every object.
 */
export function entryOf<T>(section: Record<string, T> | undefined, name: string): T | undefined {
  return section && Object.hasOwn(section, name) ? section[name] : undefined;
}

/** The first defined layer, in precedence order. */
export function firstOf<T>(layers: [Origin, T | undefined][]): Resolved<T> | undefined {
  for (const [from, value] of layers) if (value !== undefined && value !== '') return { value, from };
  return undefined;
}

/** Resolves the settings every command needs. */
export function resolveSettings(i: SettingsInput): Settings {
  const c = i.loaded?.config;
  const byName = (n: string | undefined): RepositorySetting | undefined => {
    const r = n !== undefined ? c?.repositories?.[n] : undefined;
    return r && i.loaded
      ? { name: n, url: absoluteLocal(r.url, i.loaded.dir), password: r.password, config: r }
      : undefined;
  };
  const asUrl = (v: string | undefined): RepositorySetting | undefined => (v ? (byName(v) ?? { url: v }) : undefined);
  const envRepo = i.vars.HOARD_REPOSITORY || i.vars.RESTIC_REPOSITORY;
  const repository = firstOf<RepositorySetting>([
    ['flag', asUrl(i.flags.repo)],
    ['env', asUrl(envRepo)],
    ['file', byName(c ? defaultRepositoryName(c) : undefined)],
  ]);
  const environment = firstOf<string>([
    ['flag', i.flags.environment],
    ['env', i.vars.HOARD_ENVIRONMENT],
    ['file', c?.environment],
  ]);
  return { repository, environment };
}

/** The repository a backup goes to when none is named: `repository:`, else `local`, else the first. */
export function defaultRepositoryName(c: HoardConfig): string | undefined {
  const names = Object.keys(c.repositories ?? {});
  return c.repository ?? (names.includes('local') ? 'local' : names[0]);
}

/** A local repository path written relative to the config file, made absolute. */
export function absoluteLocal(url: string, dir: string): string {
  if (/^[a-z0-9]+:/i.test(url) && !url.startsWith('local:')) return url;
  const p = url.startsWith('local:') ? url.slice(6) : url;
  return `local:${path.resolve(dir, p)}`;
}

/** Built-in environment defaults (hoard.yaml's `environments:` overrides them key by key). */
export const ENVIRONMENT_DEFAULTS: Record<string, Required<Omit<EnvironmentConfig, 'recovery_time_objective'>>> = {
  dev: { protected: false, retention_days: 30 },
  staging: { protected: false, retention_days: 60 },
  production: { protected: true, retention_days: 90 },
};

export interface EnvironmentPolicy {
  name: string;
  protected: boolean;
  /** Days a snapshot taken in this environment is kept by default; null: no default expiry. */
  retention_days: number | null;
  /** How long a restore may take, in ms (hoard.yaml's recovery_time_objective); null: none set. */
  recovery_time_objective_ms: number | null;
}

/** The policy of an environment: the file's settings over the defaults (unknown names: unprotected, no expiry). */
export function environmentPolicy(name: string, c?: HoardConfig): EnvironmentPolicy {
  const d = ENVIRONMENT_DEFAULTS[name] ?? (name === 'prod' ? ENVIRONMENT_DEFAULTS.production : undefined);
  const f = c?.environments?.[name];
  return {
    name,
    protected: f?.protected ?? d?.protected ?? false,
    retention_days: f?.retention_days ?? d?.retention_days ?? null,
    recovery_time_objective_ms: f?.recovery_time_objective ? (parseDuration(f.recovery_time_objective) ?? null) : null,
  };
}

/** Days of a hoard.yaml retention rule ({days} | {weeks} | {months}, a month of 30 days); null for forever, undefined for none. */
export function retentionRuleDays(
  rule: NonNullable<HoardConfig['retention']>[string] | undefined,
): number | null | undefined {
  if (rule === undefined) return undefined;
  if (rule === 'forever') return null;
  return rule.days ?? (rule.weeks !== undefined ? rule.weeks * 7 : (rule.months ?? 0) * 30);
}
