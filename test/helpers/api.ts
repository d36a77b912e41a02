/** Running `hoard serve` in a temporary project for the API tests: tokens, the server process, its address. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { CLI, hoard, outputOf } from './services.js';
import { CLEAN_ENV } from './project.js';

export interface Token {
  name: string;
  scopes: string;
  token: string;
  hash: string;
}

/** Creates tokens with `hoard token new` and appends a server section with them to hoard.yaml. */
export async function addServerSection(
  dir: string,
  tokens: [name: string, scopes: string][],
  extra = '',
): Promise<Record<string, Token>> {
  const out: Record<string, Token> = {};
  for (const [name, scopes] of tokens) {
    const r = await hoard(['token', 'new', '--name', name, '--scopes', scopes, '--json'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 0, r.stderr);
    out[name] = { name, scopes, ...JSON.parse(r.stdout) };
  }
  const lines = Object.values(out).map((t) => `    - { name: ${t.name}, hash: "${t.hash}", scopes: [${t.scopes}] }`);
  await appendFile(
    path.join(dir, 'hoard.yaml'),
    `server:\n  listen: 127.0.0.1:0\n${extra}  tokens:\n${lines.join('\n')}\n`,
  );
  return out;
}

export interface Served {
  base: string;
  child: ChildProcess;
  log: () => string;
  stop: () => Promise<number | null>;
}

/** Starts `hoard serve ARGS…` in `dir` and waits for its address; stopped (SIGTERM) after the test. */
export async function serve(
  t: TestContext,
  dir: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    cwd: dir,
    env: { ...process.env, ...CLEAN_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = outputOf(child);
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else {
        child.on('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      }
    });
  t.after(() => stop());
  const re = /listening on (https?:\/\/\S+)/;
  for (let i = 0; i < 150 && !re.test(log()) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 100));
  const base = re.exec(log())?.[1];
  assert.ok(base, `hoard serve did not start: ${log()}`);
  return { base: base!, child, log, stop };
}
