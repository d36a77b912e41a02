/** What every command receives: parsed flags, the environment, output helpers and the abort signal. */
import type { Env } from '../app/environment.js';
import type { Project } from '../app/project.js';
import type { Reporter } from '../core/index.js';
import type { FlagSpecs, Parsed } from './args.js';

export interface CommandContext {
  env: Env;
  args: Parsed;
  json: boolean;
  signal: AbortSignal;
  out(line: string): void;
  /** Progress/warnings to stderr (a live line on a TTY, plain warnings otherwise). */
  report: Reporter;
  /** The project (hoard.yaml, .env, settings after precedence); loaded once, on first use. */
  project(): Promise<Project>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpecs;
  /** Returns the exit code; throws HoardError for failures. */
  run(ctx: CommandContext): Promise<number>;
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: FlagSpecs = {
  repo: {
    type: 'string',
    short: 'r',
    help: 'repository URL or name in hoard.yaml (default: $HOARD_REPOSITORY, then hoard.yaml)',
  },
  config: {
    type: 'string',
    help: 'the config file (default: $HOARD_CONFIG, else hoard.yaml here or in a parent folder)',
  },
  json: { type: 'boolean', help: 'print JSON instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
  compression: { type: 'string', help: 'compression mode: auto, max or off (default auto)' },
  'limit-upload': { type: 'string', help: 'limit uploads to the repository to this many KiB/s' },
  'limit-download': { type: 'string', help: 'limit downloads from the repository to this many KiB/s' },
  'retry-lock': {
    type: 'string',
    help: "wait up to DURATION (30s, 5m) for another process's lock on the repository, then exit 11",
  },
};

/** Human-readable byte count (1024-based, like restic). */
export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(3)} ${u[i]}`;
}

/** Local "YYYY-MM-DD HH:MM:SS" from epoch ms. */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
