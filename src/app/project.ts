/**
 * The project a command runs in: its hoard.yaml (found from the current folder upwards, or
 * --config / HOARD_CONFIG), the project's .env, and the settings after precedence
 * (flags > HOARD_* > file > defaults). A project without hoard.yaml is valid: restic-style use
 * with --repo / HOARD_REPOSITORY needs none. A hoard.yaml found by the search, and the .env beside
 * it, must belong to this user or root and be writable by no one else (assertTrustedFile); a named
 * one is used as given.
 */
import * as path from 'node:path';
import {
  type ConfigPath,
  type EnvironmentPolicy,
  type HoardConfig,
  type LoadedConfig,
  type SecretScope,
  type Settings,
  assertTrustedFile,
  environmentPolicy,
  findConfigFile,
  loadConfig,
  readDotenv,
  resolveSecret,
  resolveSettings,
} from '../config/index.js';
import type { Env } from './environment.js';

export interface ProjectOptions {
  /** --config FILE */
  config?: string;
  /** --repo URL or repository name */
  repo?: string;
  /** --environment NAME */
  environment?: string;
}

export interface Project {
  loaded?: LoadedConfig;
  /** The config file's folder (the current folder without one): relative paths start here. */
  dir: string;
  /** The parsed file, or an empty config. */
  config: HoardConfig;
  settings: Settings;
  scope: SecretScope;
}

/**
 * Loads the project; kind "config" when a named or found config file is unreadable or invalid, or
 * when a found one (or its .env) is not trusted: then nothing of it is read or run.
 */
export async function loadProject(env: Env, o: ProjectOptions = {}): Promise<Project> {
  const named = o.config ?? (env.vars.HOARD_CONFIG || undefined);
  const file = named ? path.resolve(env.cwd, named) : await findConfigFile(env.cwd);
  const dotenv = path.join(file ? path.dirname(file) : env.cwd, '.env');
  if (file && !named) {
    await assertTrustedFile(file, 'found by searching from the current folder', file);
    await assertTrustedFile(dotenv, 'next to the hoard.yaml found by searching from the current folder', file);
  }
  const loaded = file ? await loadConfig(file) : undefined;
  const dir = loaded?.dir ?? env.cwd;
  const settings = resolveSettings({ flags: { repo: o.repo, environment: o.environment }, vars: env.vars, loaded });
  return {
    loaded,
    dir,
    config: loaded?.config ?? {},
    settings,
    scope: { vars: env.vars, dotenv: await readDotenv(dotenv), dir },
  };
}

/** Resolves a secret written at `at` in hoard.yaml (errors name the file and line). */
export function projectSecret(p: Project, value: string, at: ConfigPath): Promise<string> {
  const where = p.loaded ? `${p.loaded.where(at)} ${at.join('.')}` : at.join('.');
  return resolveSecret(value, p.scope, where);
}

/** The environment in force for a source (flag/env beat the source's own, which beats the file's). */
export function environmentFor(p: Project, sourceEnvironment?: string): string | undefined {
  const e = p.settings.environment;
  if (e && e.from !== 'file') return e.value;
  return sourceEnvironment ?? e?.value;
}

/** The environment's policy (protection, default retention) under this project's config. */
export function policyOf(p: Project, environment: string): EnvironmentPolicy {
  return environmentPolicy(environment, p.config);
}
