/**
 * Secret references of hoard.yaml: `env:NAME` (the process environment, then the project's .env),
 * `file:PATH` (relative to the config's folder; one trailing newline dropped) and `cmd:COMMAND`
 * (run by /bin/sh in the config's folder; its stdout). Anything else is the value itself. Errors are
 * kind "config", name where the reference is written and never include a secret.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { HoardError } from '../core/index.js';

export interface SecretScope {
  /** The process environment. */
  vars: Record<string, string | undefined>;
  /** The project's .env variables (lower precedence than `vars`). */
  dotenv: Record<string, string>;
  /** The config's folder. */
  dir: string;
}

/** True when the value is a reference rather than an inline value. */
export function isReference(value: string): boolean {
  return /^(env|file|cmd):/.test(value);
}

/**
 * The variables a config reads secrets from: every `env:NAME` anywhere in it (repositories and
 * their s3/sftp settings, sources, notifications, …), sorted, each once. Hook commands are
 * commands, not references, and are not read.
 */
export function referencedVariables(config: object): string[] {
  const names = new Set<string>();
  const walk = (v: unknown, key: string): void => {
    if (key === 'hooks') return;
    if (typeof v === 'string') {
      const m = /^env:(.+)$/s.exec(v);
      if (m) names.add(m[1]);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, ''));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(config, '');
  return [...names].sort();
}

/** Resolves a value or reference; `where` ("hoard.yaml:12 sources.db.url") prefixes errors. */
export async function resolveSecret(value: string, scope: SecretScope, where: string): Promise<string> {
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const v = scope.vars[name] || scope.dotenv[name];
    if (!v)
      throw new HoardError('config', `${where}: the variable ${name} is not set`, {
        hint: `export ${name}=… (or add it to the project's .env file)`,
      });
    return v;
  }
  if (value.startsWith('file:')) {
    const file = path.resolve(scope.dir, value.slice(5));
    try {
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new HoardError('config', `${where}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
        hint: 'create the file (mode 0600) or change the reference',
      });
    }
  }
  if (value.startsWith('cmd:')) return runSecretCommand(value.slice(4), scope, where);
  return value;
}

function runSecretCommand(cmd: string, scope: SecretScope, where: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...scope.dotenv, ...scope.vars } as NodeJS.ProcessEnv;
    execFile('/bin/sh', ['-c', cmd], { cwd: scope.dir, env, timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err)
        reject(
          new HoardError(
            'config',
            `${where}: the secret command failed (${err.killed ? 'timed out' : `exit ${err.code ?? err.message}`})`,
            { hint: 'run the command by hand to see why' },
          ),
        );
      else if (!stdout.trim())
        reject(
          new HoardError('config', `${where}: the secret command printed nothing`, {
            hint: 'the command must print the secret on stdout',
          }),
        );
      else resolve(stdout.replace(/\r?\n$/, ''));
    });
  });
}
