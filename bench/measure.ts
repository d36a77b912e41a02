/** What every benchmark needs: a command timed under GNU time, folder sizes, the tools present. */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { textLike } from '../test/helpers/data.js';

/** Wall seconds, peak RSS in MiB, and CPU seconds (user + system, of the command and its children). */
export interface Measure {
  secs: number;
  rssMB: number;
  cpu: number;
}

/**
 * Runs a shell command under GNU time; returns wall seconds and peak RSS. For a pipeline
 * (`bash -o pipefail -c 'a | b'`, so a failing stage fails it) the RSS is the largest of its processes (getrusage of the waited children).
 * Throws on failure.
 */
export function timed(cmd: string, cwd: string, env: NodeJS.ProcessEnv): Measure {
  const out = path.join(cwd, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', out, 'bash', '-o', 'pipefail', '-c', cmd], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd}\n${r.stderr.toString().slice(-2000)}`);
  const [secs, kb, user, sys] = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { secs, rssMB: kb / 1024, cpu: user + sys };
}

/** Bytes under a path, in MB (10^6). */
export const du = (p: string) => Number(execFileSync('du', ['-sb', p]).toString().split('\t')[0]) / 1e6;

/** Exits with a one-line install hint when a tool is missing. */
export function requireTools(tools: [string, string][]): void {
  for (const [tool, pkg] of tools) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
      console.error(`bench: ${tool} is missing; install it with: apt-get install -y ${pkg}`);
      process.exit(2);
    }
  }
}

/** Writes `mb` MiB of dump-like text (compresses 2–6× with zstd) to `file`. */
export function makeStream(file: string, mb: number, seed: number): void {
  const fd = openSync(file, 'w');
  for (let i = 0; i < mb / 8; i++) writeSync(fd, textLike(8 << 20, seed + i));
  closeSync(fd);
}
